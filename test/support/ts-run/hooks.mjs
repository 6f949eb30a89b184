// Module hooks for register.mjs: `./x.js` imports from a .ts file resolve to `./x.ts` when it
// exists, and .ts files are transpiled (types dropped, no type check) with the project's
// TypeScript. Output is cached under node_modules/.cache, keyed by path, size and mtime, so only
// the first run pays for loading the compiler.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const cacheDir = fileURLToPath(new URL('../../../node_modules/.cache/switchboard-ts-run/', import.meta.url));
let ts = null;

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent !== undefined && parent.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (existsSync(url)) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const st = statSync(path);
  const key = createHash('sha1').update(`${process.version}\0${path}\0${st.size}\0${st.mtimeMs}`).digest('hex');
  const cached = cacheDir + key + '.js';
  if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  ts ??= (await import('typescript')).default;
  const out = ts.transpileModule(await readFile(path, 'utf8'), {
    fileName: path,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
  });
  try {
    // Write then rename, so a parallel test process never reads half a file.
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, out.outputText);
    renameSync(tmp, cached);
  } catch {
    // A read-only tree just means no cache.
  }
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
