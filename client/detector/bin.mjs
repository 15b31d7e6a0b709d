#!/usr/bin/env node
// `npx argus-detector …` from a checkout: registers tsx, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
