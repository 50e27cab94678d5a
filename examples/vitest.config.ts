import { spokeVitestConfig } from '../vitest.shared.js';

export default spokeVitestConfig(import.meta.dirname);
