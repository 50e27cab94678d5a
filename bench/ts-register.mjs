// Registers ts-loader.mjs so that plain Node 20 runs the benchmarks (and the workspace packages'
// sources, through the "@spoke/source" export condition) without a build step:
//   node --conditions=@spoke/source --import ./ts-register.mjs src/main.ts
import { register } from 'node:module';

register('./ts-loader.mjs', import.meta.url);
