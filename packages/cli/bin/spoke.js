#!/usr/bin/env node
// The published entry point: the compiled CLI (`nx build` writes dist/).
import '../dist/main.js';
