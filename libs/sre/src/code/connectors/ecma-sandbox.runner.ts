/**
 * The program an `ECMASandbox` child process runs (`node -e`), kept as text so that it ships with
 * the compiled library and runs unchanged under ts-jest. The child starts with an empty
 * environment, Node's permission model (no file system, child processes or workers) and a heap
 * limit; the parent kills it at the wall-clock limit.
 *
 * Inside, the user code runs in a `node:vm` context whose global has no prototype from this realm
 * (a `{}` sandbox would hand out this realm's `Object`, hence `Function` and `process`) and only
 * functions created in that context: `console` collects lines into an array of the context, timers
 * reach this realm through one closure that takes and answers primitives only and never throws. The
 * inputs cross as JSON text parsed by the context's own `JSON` (data, never source: W47); `main`'s
 * parameters are bound by name from them.
 *
 * Messages: the parent sends `{ prelude, code, json }`; the child answers `{ ready: true }` once it starts
 * the user code, then `{ ok: true, output, logs, executionTime }` (`output` as JSON text, or
 * `text` when it is not JSON) or `{ ok: false, message, logs }`.
 */
/** Run inside the context before the user code; see above. */
export const ECMA_SANDBOX_PRELUDE = String.raw`
'use strict';
(function (bridge, report) {
  const g = globalThis;
  const logs = [];
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const then = Promise.prototype.then;
  const toString = String;
  const Failure = Error;
  const toText = Function.prototype.toString;
  const has = Object.prototype.hasOwnProperty;
  const isArray = Array.isArray;
  const line = (...args) => { logs.push(args.map((a) => { try { return typeof a === 'string' ? a : String(a); } catch (e) { return '[unprintable]'; } }).join(' ')); };
  g.console = { log: line, info: line, warn: line, error: line, debug: line, trace: line };
  const timers = new Map();
  let next = 0;
  const fire = (id) => {
    const timer = timers.get(id);
    if (!timer) return;
    if (!timer.repeat) timers.delete(id);
    try { timer.fn(...timer.args); } catch (e) { line('Uncaught', e && e.message !== undefined ? e.message : e); }
  };
  const start = (repeat) => (fn, ms, ...args) => {
    if (typeof fn !== 'function') throw new TypeError('the callback must be a function');
    const id = ++next;
    timers.set(id, { fn, args, repeat });
    bridge(repeat ? 'interval' : 'timeout', id, Number(ms) || 0);
    return id;
  };
  const stop = (id) => { if (timers.delete(id)) bridge('clear', id, 0); };
  g.setTimeout = start(false);
  g.setInterval = start(true);
  g.clearTimeout = g.clearInterval = stop;
  g.queueMicrotask = (fn) => { Promise.resolve().then(() => fn()); };
  // their memory lies outside the heap limit: a run gets none of them
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics', 'WebAssembly',
    'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'])
    delete g[name];

  // main's parameters, from its source: a name, a name with a default, a rest name, or a pattern
  // (destructuring), which receives the whole inputs object
  const paramsOf = (fn) => {
    let s = toText.call(fn).trim();
    if (s.startsWith('async')) s = s.slice(5).trim();
    if (s.startsWith('function')) s = s.slice(s.indexOf('('));
    if (s[0] !== '(') {
      const single = /^([A-Za-z_$][\w$]*)\s*=>/.exec(s);
      return single ? [{ name: single[1] }] : [];
    }
    const params = [];
    let depth = 0, current = '', quote = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (quote) {
        current += c;
        if (c === '\\') { current += s[++i] || ''; continue; }
        if (c === quote) quote = '';
        continue;
      }
      if (c === '/' && s[i + 1] === '/') { const end = s.indexOf('\n', i); i = end < 0 ? s.length : end; continue; }
      if (c === '/' && s[i + 1] === '*') { const end = s.indexOf('*/', i + 2); i = end < 0 ? s.length : end + 1; continue; }
      if (c === '"' || c === "'" || c === '${'`'}') { quote = c; current += c; continue; }
      if (c === '(' || c === '[' || c === '{') { depth++; if (depth === 1) continue; }
      if (c === ')' || c === ']' || c === '}') { depth--; if (depth === 0) { params.push(current); break; } }
      if (c === ',' && depth === 1) { params.push(current); current = ''; continue; }
      current += c;
    }
    return params.map((p) => p.trim()).filter((p) => p !== '').map((p) => {
      if (p.startsWith('...')) return { rest: p.slice(3).trim().split(/[^\w$]/)[0] };
      if (p[0] === '{' || p[0] === '[') return { pattern: true };
      return { name: (/^[A-Za-z_$][\w$]*/.exec(p) || [''])[0] };
    });
  };
  const own = (inputs, name) => (inputs !== null && typeof inputs === 'object' && has.call(inputs, name) ? inputs[name] : undefined);

  const textOf = (value) => { try { return toString(value); } catch (e) { return '[unprintable]'; } };
  const messageOf = (error) => {
    try {
      return textOf(error !== null && typeof error === 'object' && 'message' in error ? error.message : error);
    } catch (e) { return 'the code threw something unprintable'; }
  };
  // the outcome leaves as one JSON text, handed to the host as a primitive
  const finish = (outcome) => {
    outcome.logs = logs.slice();
    let text;
    try { text = stringify(outcome); } catch (e) { text = stringify({ ok: false, message: 'the outcome is not printable', logs: outcome.logs }); }
    report(text);
  };
  const run = (main, json) => {
    let settled;
    try {
      if (typeof main !== 'function') throw new Error('No main function found at root level');
      const inputs = parse(json);
      const args = [];
      for (const p of paramsOf(main)) {
        if (p.pattern) args.push(inputs);
        else if (p.rest !== undefined) { const value = own(inputs, p.rest); if (isArray(value)) args.push(...value); }
        else args.push(own(inputs, p.name));
      }
      settled = (async () => main(...args))();
    } catch (error) {
      finish({ ok: false, message: messageOf(error) });
      return;
    }
    then.call(
      settled,
      (value) => {
        let output;
        let text;
        try {
          output = typeof value === 'function' ? undefined : stringify(value);
          if (output === undefined && value !== undefined) text = textOf(value);
        } catch (e) {
          text = textOf(value);
        }
        finish({ ok: true, output, text });
      },
      (error) => finish({ ok: false, message: messageOf(error) }),
    );
  };
  // import() has nowhere to load from: its refusal is an error of this realm, not the host's
  const refuseImport = () => new Failure('import() is not available in the sandbox');
  return { run, fire, refuseImport };
})
`;

export const ECMA_SANDBOX_RUNNER = String.raw`
'use strict';
const vm = require('node:vm');

const handles = new Map();
process.once('message', (job) => {
  const context = vm.createContext(Object.create(null), { codeGeneration: { strings: true, wasm: false } });
  let fire = () => undefined;
  // the only way out of the context: primitives in, nothing out, never throws
  const bridge = (kind, id, ms) => {
    try {
      if (kind === 'clear') {
        const handle = handles.get(id);
        handles.delete(id);
        clearTimeout(handle);
        clearInterval(handle);
        return;
      }
      const delay = Math.max(0, Math.min(Number(ms) || 0, 2147483647));
      const tick = () => { if (kind !== 'interval') handles.delete(id); try { fire(id); } catch {} };
      handles.set(id, kind === 'interval' ? setInterval(tick, delay) : setTimeout(tick, delay));
    } catch {}
  };
  const send = (message) => process.send(message, () => process.exit(0));
  let started = 0;
  let done = false;
  // the other way out: one JSON text of the outcome; the host parses it in its own realm
  const report = (text) => {
    try {
      if (done) return;
      done = true;
      const outcome = JSON.parse(String(text));
      outcome.executionTime = Math.round(performance.now() - started);
      send(outcome);
    } catch {}
  };
  let run;
  let refuseImport;
  const importModuleDynamically = () => {
    throw refuseImport();
  };
  try {
    const installed = vm.runInContext(String(job.prelude), context, { filename: 'prelude.js' })(
      (kind, id, ms) => bridge(String(kind), Number(id), Number(ms)),
      (text) => report(typeof text === 'string' ? text : ''),
    );
    // read at once, before any user code runs
    run = installed.run;
    fire = installed.fire;
    refuseImport = installed.refuseImport;
  } catch {
    send({ ok: false, message: 'the sandbox could not start', logs: [] });
    return;
  }
  process.send({ ready: true });
  try {
    // a script, not a module: main is a binding of the context's global scope however declared
    vm.runInContext(String(job.code), context, { filename: 'main.js', importModuleDynamically });
    const main = vm.runInContext('typeof main === "function" ? main : undefined', context);
    started = performance.now();
    run(main, String(job.json));
  } catch (error) {
    let message = 'the code threw something unprintable';
    try { message = String(error !== null && typeof error === 'object' && 'message' in error ? error.message : error); } catch {}
    done = true;
    send({ ok: false, message, logs: [] });
  }
});
`;
