#!/usr/bin/env node
// The `datapilot` command: runs the TypeScript CLI with tsx (no build step), as the project runs its services.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
