// Lets a child `node` process run the TypeScript sources directly (tests spawn `switchboard
// serve` from src/ on Node 20, which cannot strip types): `node --import <this file> src/cli.ts`.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
