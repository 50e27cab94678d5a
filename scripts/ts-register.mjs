// `node --conditions=@spoke/source --import ./scripts/ts-register.mjs file.ts` runs workspace sources.
import { register } from 'node:module';

register('./ts-loader.mjs', import.meta.url);
