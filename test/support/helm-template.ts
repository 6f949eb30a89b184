/**
 * A small renderer for the subset of Helm's Go templates our chart uses, so the chart's output is
 * tested without the helm binary. Anything outside the subset throws, which keeps the chart
 * inside it: actions `define/include`, `if/else if/else`, `range` (with `$i, $v :=`), `with`,
 * variables (`:=`, `=`), pipelines, and the functions in FUNCS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';

type Node =
  | { t: 'text'; s: string }
  | { t: 'out'; pipe: string }
  | { t: 'if'; branches: Array<{ cond: string | null; body: Node[] }> }
  | { t: 'range'; vars: string[]; pipe: string; body: Node[]; elseBody: Node[] }
  | { t: 'with'; pipe: string; body: Node[]; elseBody: Node[] }
  | { t: 'set'; name: string; declare: boolean; pipe: string };

interface Scope {
  vars: Map<string, unknown>;
  parent: Scope | null;
}

/** Splits template text into text and `{{ }}` actions, applying `{{-` / `-}}` trimming. */
function lex(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      out.push({ text });
      break;
    }
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed {{');
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith('-');
    if (trimNext) inner = inner.slice(0, -1);
    out.push({ text });
    inner = inner.trim();
    if (!inner.startsWith('/*')) out.push({ action: inner });
    i = close + 2;
  }
  return out;
}

/** Builds the action tree; `defines` collects `define` blocks. */
function parse(src: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(src);
  let pos = 0;
  const block = (stops: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++];
      if ('text' in tok) {
        if (tok.text !== '') nodes.push({ t: 'text', s: tok.text });
        continue;
      }
      const a = tok.action;
      const word = a.split(/\s+/)[0];
      if (stops.includes(word) || (word === 'else' && stops.includes('else'))) return { nodes, stop: a };
      if (word === 'define') {
        const name = JSON.parse(a.slice(6).trim()) as string;
        defines.set(name, block(['end']).nodes);
      } else if (word === 'if') {
        const branches: Array<{ cond: string | null; body: Node[] }> = [];
        let cond: string | null = a.slice(2).trim();
        for (;;) {
          const r = block(['end', 'else']);
          branches.push({ cond, body: r.nodes });
          if (r.stop === 'end') break;
          const rest = r.stop.slice(4).trim();
          cond = rest.startsWith('if ') ? rest.slice(3).trim() : null;
        }
        nodes.push({ t: 'if', branches });
      } else if (word === 'range' || word === 'with') {
        let spec = a.slice(word.length).trim();
        let vars: string[] = [];
        const m = /^((?:\$\w+\s*,\s*)?\$\w+)\s*:=\s*(.*)$/.exec(spec);
        if (m !== null) {
          vars = m[1].split(',').map((v) => v.trim());
          spec = m[2];
        }
        const r = block(['end', 'else']);
        const elseBody = r.stop === 'end' ? [] : block(['end']).nodes;
        if (word === 'range') nodes.push({ t: 'range', vars, pipe: spec, body: r.nodes, elseBody });
        else nodes.push({ t: 'with', pipe: spec, body: r.nodes, elseBody });
      } else if (/^\$\w+\s*:?=/.test(a)) {
        const m2 = /^(\$\w+)\s*(:?=)\s*(.*)$/.exec(a)!;
        nodes.push({ t: 'set', name: m2[1], declare: m2[2] === ':=', pipe: m2[3] });
      } else if (word === 'end' || word === 'else') throw new Error(`unexpected {{ ${a} }}`);
      else nodes.push({ t: 'out', pipe: a });
    }
    if (stops.length > 0) throw new Error(`missing {{ end }} (expected ${stops.join('/')})`);
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return stringify(v).trimEnd();
  return String(v);
}

const indentLines = (n: number, s: string) =>
  s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

/** The Sprig/Go functions the chart may use. */
const FUNCS: Record<string, (...a: unknown[]) => unknown> = {
  quote: (v) => JSON.stringify(str(v)),
  default: (d, v) => (truthy(v) ? v : d),
  toYaml: (v) => (v === null || v === undefined ? '' : stringify(v).trimEnd()),
  nindent: (n, s) => '\n' + indentLines(Number(n), str(s)),
  indent: (n, s) => indentLines(Number(n), str(s)),
  trunc: (n, s) => str(s).slice(0, Number(n)),
  trimSuffix: (suf, s) => (str(s).endsWith(str(suf)) ? str(s).slice(0, -str(suf).length) : str(s)),
  printf: (fmt, ...args) => {
    let i = 0;
    return str(fmt).replace(/%[sdv]/g, () => str(args[i++]));
  },
  first: (l) => (Array.isArray(l) ? l[0] : undefined),
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  not: (v) => !truthy(v),
  and: (...vs) => vs.find((v) => !truthy(v)) ?? vs[vs.length - 1],
  or: (...vs) => vs.find((v) => truthy(v)) ?? vs[vs.length - 1],
};

export class HelmRenderer {
  private readonly defines = new Map<string, Node[]>();
  private root: Record<string, unknown> = {};

  /** Evaluates a pipeline `cmd | cmd ...` with `dot` as `.`. */
  private pipe(src: string, dot: unknown, scope: Scope): unknown {
    const cmds = splitTop(src, '|');
    let prev: unknown = undefined;
    cmds.forEach((c, i) => {
      const words = splitWords(c.trim());
      const args = words.slice(1).map((w) => this.operand(w, dot, scope));
      if (i > 0) args.push(prev);
      const head = words[0];
      if (head === 'include') {
        const [name, ctx] = args;
        const body = this.defines.get(str(name));
        if (body === undefined) throw new Error(`include of unknown template "${str(name)}"`);
        prev = this.exec(body, ctx, { vars: new Map([['$', ctx]]), parent: null });
      } else if (head in FUNCS) prev = FUNCS[head](...args);
      else if (words.length === 1 && i === 0) prev = this.operand(head, dot, scope);
      else throw new Error(`unsupported template function "${head}"`);
    });
    return prev;
  }

  private operand(w: string, dot: unknown, scope: Scope): unknown {
    if (w.startsWith('(')) return this.pipe(w.slice(1, -1), dot, scope);
    if (w.startsWith('"')) return JSON.parse(w);
    if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
    if (w === 'true' || w === 'false') return w === 'true';
    let base: unknown;
    let path: string;
    if (w.startsWith('$')) {
      const m = /^(\$\w*)(.*)$/.exec(w)!;
      base = lookupVar(scope, m[1]);
      path = m[2];
    } else if (w.startsWith('.')) {
      base = dot;
      path = w === '.' ? '' : w;
    } else throw new Error(`unsupported template word "${w}"`);
    for (const k of path.split('.').filter((p) => p !== '')) base = base === null || base === undefined ? undefined : (base as Record<string, unknown>)[k];
    return base;
  }

  private exec(nodes: Node[], dot: unknown, scope: Scope): string {
    let out = '';
    for (const n of nodes) {
      switch (n.t) {
        case 'text':
          out += n.s;
          break;
        case 'out':
          out += str(this.pipe(n.pipe, dot, scope));
          break;
        case 'set':
          if (n.declare) scope.vars.set(n.name, this.pipe(n.pipe, dot, scope));
          else assignVar(scope, n.name, this.pipe(n.pipe, dot, scope));
          break;
        case 'if': {
          const b = n.branches.find((br) => br.cond === null || truthy(this.pipe(br.cond, dot, scope)));
          if (b !== undefined) out += this.exec(b.body, dot, { vars: new Map(), parent: scope });
          break;
        }
        case 'with': {
          const v = this.pipe(n.pipe, dot, scope);
          out += truthy(v) ? this.exec(n.body, v, { vars: new Map(), parent: scope }) : this.exec(n.elseBody, dot, { vars: new Map(), parent: scope });
          break;
        }
        case 'range': {
          const v = this.pipe(n.pipe, dot, scope);
          const entries: Array<[unknown, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : truthy(v) ? Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
          if (entries.length === 0) out += this.exec(n.elseBody, dot, { vars: new Map(), parent: scope });
          for (const [k, x] of entries) {
            const vars = new Map<string, unknown>();
            if (n.vars.length === 1) vars.set(n.vars[0], x);
            if (n.vars.length === 2) {
              vars.set(n.vars[0], k);
              vars.set(n.vars[1], x);
            }
            out += this.exec(n.body, x, { vars, parent: scope });
          }
          break;
        }
      }
    }
    return out;
  }

  /** Renders every template of `chartDir` with values.yaml merged with `overrides`; returns text by file. */
  render(chartDir: string, overrides: Record<string, unknown> = {}, release = { Name: 'sb', Namespace: 'serving' }): Map<string, string> {
    const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    const values = merge(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>, overrides);
    this.root = {
      Values: values,
      Release: { ...release, Service: 'Helm' },
      Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    };
    const dir = join(chartDir, 'templates');
    const files = readdirSync(dir).sort();
    const trees = new Map<string, Node[]>();
    for (const f of files) trees.set(f, parse(readFileSync(join(dir, f), 'utf8'), this.defines));
    const out = new Map<string, string>();
    for (const [f, tree] of trees) if (!f.startsWith('_')) out.set(f, this.exec(tree, this.root, { vars: new Map([['$', this.root]]), parent: null }));
    return out;
  }

  /** Renders and parses the Kubernetes objects (NOTES.txt excluded), failing on YAML errors. */
  objects(chartDir: string, overrides: Record<string, unknown> = {}, release?: { Name: string; Namespace: string }): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const [f, text] of this.render(chartDir, overrides, release)) {
      if (!f.endsWith('.yaml')) continue;
      for (const doc of parseAllDocuments(text)) {
        if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0].message}\n${text}`);
        const v = doc.toJS() as Record<string, unknown> | null;
        if (v !== null) out.push(v);
      }
    }
    return out;
  }
}

function lookupVar(scope: Scope | null, name: string): unknown {
  for (let s = scope; s !== null; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
  throw new Error(`undefined variable ${name}`);
}

function assignVar(scope: Scope | null, name: string, v: unknown): void {
  for (let s = scope; s !== null; s = s.parent)
    if (s.vars.has(name)) {
      s.vars.set(name, v);
      return;
    }
  throw new Error(`assignment to undeclared ${name}`);
}

/** Splits on `sep` outside quotes and parentheses. */
function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let q = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' && s[i - 1] !== '\\') q = !q;
    if (!q && c === '(') depth++;
    if (!q && c === ')') depth--;
    if (!q && depth === 0 && c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Splits a command into words: quoted strings and parenthesized pipelines stay whole. */
function splitWords(s: string): string[] {
  return splitTop(s, ' ').filter((w) => w !== '');
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object' && !Array.isArray(b) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
