#!/usr/bin/env node
// Entry point for `npx vxflow`: runs the TypeScript sources directly through tsx, so the
// checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
