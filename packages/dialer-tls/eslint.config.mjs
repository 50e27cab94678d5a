// The workspace rules, plus: skip the declaration files `typecheck` emits under out-tsc/.
import workspace from '../../eslint.config.mjs';

export default [{ ignores: ['out-tsc/**'] }, ...workspace];
