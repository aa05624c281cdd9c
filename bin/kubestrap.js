#!/usr/bin/env node
// The installed command runs the built JavaScript: no TypeScript compile on each call.
import { runProcess } from '../dist/cli.js';
await runProcess();
