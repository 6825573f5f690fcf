'use strict';
// ipcbench's Node driver (embedded in the ipcbench binary, see node.go).
//
// ipcbench starts Node with a bootstrap that reads this source and the
// config from the first line of stdin (see nodedriver.go); stdin is then
// the control pipe from ipcbench, fd 3 the report pipe to it. It sets
// up one benchmark (workers, servers, held memory), says so, waits for "go"
// on stdin, then runs the benchmark's operation back to back until stdin
// closes, timing each with process.hrtime.bigint() and reporting the raw
// durations. It computes no statistics: ipcbench does.
//
// Report lines (fd 3), one JSON object each:
//   {"t":"hello","node":…,"uv":…,"v8":…,"pid":…}      at start
//   {"t":"ready","fields":[…],"info":{…}}             set up; waiting for "go"
//   {"t":"ops","v":[…]}                               op records, flat: len(fields) numbers per op
//   {"t":"end","ops":…,"user_us":…,…}                 after stdin closed
//   {"t":"error","msg":…}                             then exit 1 (details on stderr)
// Field "total" is the op's duration in ns; other time fields are ns from
// the op's start (0: not seen); counts are plain numbers.

const cp = require('child_process');
const fs = require('fs');
const net = require('net');
const readline = require('readline');

const cfg = JSON.parse(process.argv[process.argv.length - 1]);
const now = process.hrtime.bigint;

// The report pipe arrives as fd 3, inherited, so not close-on-exec.
// Whether Node's children inherit such a descriptor depends on Node and
// libuv (Node 20 passes a high one on, not fd 3), and one that did would
// keep the pipe open after the driver died. So reopen it through /proc (a
// pipe reopens as a new description of the same pipe, and libuv opens
// every file O_CLOEXEC) and close the inherited one, before anything is
// started.
let out;
try {
  out = fs.openSync('/proc/self/fd/3', fs.constants.O_WRONLY);
  fs.closeSync(3);
} catch (e) {
  process.stderr.write(`ipcbench node driver: no report pipe on fd 3: ${e.message}\n`);
  process.exit(2);
}

function send(obj) {
  const b = Buffer.from(JSON.stringify(obj) + '\n');
  let off = 0;
  while (off < b.length) off += fs.writeSync(out, b, off, b.length - off);
}

let failed = false;
function fail(msg, detail) {
  if (failed) return;
  failed = true;
  msg = String(msg).split('\n')[0];
  // The details (a stack) first, the one-line reason last: ipcbench
  // explains a failed child with the last line of its stderr.
  if (detail && detail !== msg) process.stderr.write(`${detail}\n`);
  process.stderr.write(`ipcbench node driver: ${msg}\n`);
  try { send({ t: 'error', msg }); } catch (_) { /* ipcbench is gone */ }
  for (const k of kids) { try { k.kill('SIGKILL'); } catch (_) { /* already gone */ } }
  process.exit(1);
}
process.on('uncaughtException', (e) => fail(e && e.message || e, e && e.stack));
process.on('unhandledRejection', (e) => fail(e && e.message || e, e && e.stack));

send({ t: 'hello', node: process.version, uv: process.versions.uv, v8: process.versions.v8, pid: process.pid });

// ---- recording ---------------------------------------------------------

const kids = new Set(); // long-lived workers, killed on failure
let pending = [];       // op records not yet reported
let lastFlush = 0n;
let ops = 0;
let stopping = false;
let ru0;

// record reports one op. t1 is the clock read that ended it: reports go
// out about every 10 ms (or 4096 values), between ops, never inside one.
function record(t1, vals) {
  for (let i = 0; i < vals.length; i++) pending.push(vals[i]);
  ops++;
  if (cfg.die_after && ops >= cfg.die_after) {
    process.stderr.write(`ipcbench node driver: dying on purpose after ${ops} ops (test)\n`);
    process.exit(3);
  }
  if (t1 - lastFlush >= 10000000n || pending.length >= 4096) flush(t1);
}

function flush(t) {
  if (pending.length) {
    send({ t: 'ops', v: pending });
    pending = [];
  }
  lastFlush = t;
}

function ns(t, t0) { return t > 0n ? Number(t - t0) : 0; }

// loop runs op(next) until ipcbench closes stdin.
function loop(op, teardown) {
  const next = () => {
    if (failed) return;
    if (stopping) return finish(teardown);
    if (cfg.hang_after && ops >= cfg.hang_after) {
      process.stderr.write(`ipcbench node driver: hanging on purpose after ${ops} ops (test)\n`);
      setInterval(() => {}, 1 << 30);
      return;
    }
    op(next);
  };
  return next;
}

let growth = null;
function finish(teardown) {
  flush(now());
  const ru = process.resourceUsage();
  let g = null;
  if (growth) g = statusKB('VmHWM') * 1024 - growth.base;
  send({
    t: 'end', ops,
    user_us: ru.userCPUTime - ru0.userCPUTime, sys_us: ru.systemCPUTime - ru0.systemCPUTime,
    vcsw: ru.voluntaryContextSwitches - ru0.voluntaryContextSwitches,
    ivcsw: ru.involuntaryContextSwitches - ru0.involuntaryContextSwitches,
    hwm_kb: statusKB('VmHWM'), growth_bytes: g,
  });
  Promise.resolve(teardown && teardown()).then(() => process.exit(0), (e) => fail(e && e.message || e));
}

function statusKB(field) {
  const m = fs.readFileSync('/proc/self/status', 'latin1').match(new RegExp('^' + field + ':\\s+(\\d+)', 'm'));
  return m ? Number(m[1]) : 0;
}

// ready tells ipcbench the benchmark is set up, then starts the loop on "go".
function ready(fields, info, start) {
  send({ t: 'ready', fields, info: info || {} });
  let buf = '';
  let started = false;
  process.stdin.on('data', (d) => {
    buf += d;
    if (!started && buf.includes('go\n')) {
      started = true;
      ru0 = process.resourceUsage();
      start();
    }
  });
  process.stdin.on('end', () => {
    stopping = true;
    if (!started) process.exit(0);
  });
}

// ---- children ----------------------------------------------------------

// exitReason explains a child's end like ipcbench does for its own.
// code is an exit status, or a spawn error's code ('ENOENT') for exec's
// callback.
function exitReason(code, signal, stderr) {
  let why = signal ? `signal: ${signal}` : typeof code === 'number' ? `exit status ${code}` : String(code);
  const last = String(stderr || '').trim().split('\n').pop();
  if (last) why += `: ${last}`;
  return why;
}

// waitExit resolves when a worker has exited, killing it after ms.
function waitExit(w, ms) {
  return new Promise((resolve) => {
    if (w.exitCode !== null || w.signalCode !== null) return resolve();
    const t = setTimeout(() => { try { w.kill('SIGKILL'); } catch (_) { /* gone */ } }, ms);
    w.once('exit', () => { clearTimeout(t); resolve(); });
  });
}

// forkWorker forks one of ipcbench's workers (source in cfg.workers) and
// resolves with it once it said it is ready. The worker is evaluated with
// `-e` (Node's fork() takes a module path; there is no file to give it,
// so the path is only a label and the code comes in execArgv).
function forkWorker(name, opts) {
  return new Promise((resolve, reject) => {
    const w = cp.fork('ipcbench-' + name, [], Object.assign({ execArgv: ['-e', cfg.workers[name]] }, opts));
    kids.add(w);
    w.once('error', reject);
    w.once('exit', (code, sig) => reject(new Error(`worker ${name} ended before it was ready: ${exitReason(code, sig)}`)));
    w.once('message', (m) => {
      w.removeAllListeners('exit');
      w.once('exit', (code, sig) => { if (!stopping) fail(`worker ${name} ended: ${exitReason(code, sig)}`); });
      resolve([w, m]);
    });
  });
}

async function stopWorker(w) {
  if (w.connected) w.disconnect();
  await waitExit(w, 2000);
  kids.delete(w);
}

// ---- spawn: exec, execFile, spawn, fork --------------------------------

function spawnBench() {
  const fields = ['total', 'started', 'exit', 'first_byte'];
  const [file, ...args] = cfg.argv || [];
  const op = (next) => {
    const t0 = now();
    let tStart = 0n, tExit = 0n, tFirst = 0n;
    const done = (t1) => { record(t1, [Number(t1 - t0), ns(tStart, t0), ns(tExit, t0), ns(tFirst, t0)]); next(); };
    let c;
    switch (cfg.mode) {
      case 'exec':
      case 'execFile': {
        const cb = (err, _stdout, stderr) => {
          const t1 = now();
          if (err) return fail(`${cfg.mode} ${cfg.what}: ${err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' ? err.message : exitReason(err.code, err.signal, stderr)}`);
          done(t1);
        };
        c = cfg.mode === 'exec' ? cp.exec(cfg.line, cb) : cp.execFile(file, args, cb);
        break;
      }
      case 'spawn': {
        let errTail = '';
        c = cp.spawn(file, args);
        c.stdout.on('data', () => {});
        c.stderr.on('data', (d) => { errTail = (errTail + d).slice(-4096); });
        c.on('close', (code, sig) => {
          const t1 = now();
          if (code !== 0) return fail(`spawn ${cfg.what}: ${exitReason(code, sig, errTail)}`);
          done(t1);
        });
        break;
      }
      case 'fork': {
        let tReady = 0n;
        c = cfg.module ? cp.fork(cfg.module, cfg.args, { execArgv: cfg.exec_argv }) :
          cp.fork('ipcbench-fork-worker', [], { execArgv: ['-e', cfg.workers.fork] });
        c.once('message', () => {
          tReady = now();
          c.disconnect(); // a worker ends when its channel closes
        });
        c.once('exit', (code, sig) => {
          const t1 = now();
          if (code !== 0) return fail(`fork ${cfg.what}: ${exitReason(code, sig)}`);
          if (!tReady) return fail(`fork ${cfg.what}: the worker exited without sending a message (a worker must send one when ready)`);
          record(t1, [Number(t1 - t0), ns(tStart, t0), ns(tReady, t0)]); // total is to 'exit'
          next();
        });
        break;
      }
      default:
        return fail(`unknown spawn mode ${cfg.mode}`);
    }
    tStart = now();
    c.once('error', (e) => fail(`${cfg.mode} ${cfg.what}: ${e.message}`));
    c.once('exit', () => { tExit = now(); });
    if (c.stdout) c.stdout.once('data', () => { tFirst = now(); });
  };
  ready(cfg.mode === 'fork' ? ['total', 'started', 'ready'] : fields, {}, loop(op));
}

// ---- parent memory: spawn('/bin/true') to 'exit' while holding touched Buffers ----

const held = [];
function parentMemBench() {
  const chunk = 64 << 20;
  for (let left = cfg.parent_mem; left > 0; left -= chunk) {
    // allocUnsafeSlow: its own backing store, not the pool; fill touches
    // every page (a zero-filled allocation may never be touched).
    const b = Buffer.allocUnsafeSlow(Math.min(chunk, left));
    b.fill(1);
    held.push(b);
  }
  const [file, ...args] = cfg.argv;
  const op = (next) => {
    const t0 = now();
    const c = cp.spawn(file, args, { stdio: 'ignore' });
    const tStart = now();
    c.once('error', (e) => fail(`spawn ${cfg.what}: ${e.message}`));
    c.once('exit', (code, sig) => {
      const t1 = now();
      if (code !== 0) return fail(`spawn ${cfg.what}: ${exitReason(code, sig)}`);
      record(t1, [Number(t1 - t0), ns(tStart, t0)]);
      next();
    });
  };
  ready(['total', 'started'], { rss_bytes: statusKB('VmRSS') * 1024 }, loop(op));
}

// ---- output: execFile (buffered) vs spawn 'data' (streamed) vs readline (lines) ----
// The writer is started directly in all three, no shell (as ipcbench's own
// output figures start it): execFile, not exec, for buffered.

function outputBench() {
  const env = Object.assign({}, process.env, cfg.env);
  const [file, ...args] = cfg.argv;
  const op = (next) => {
    const t0 = now();
    let tFirst = 0n, bytes = 0, lines = 0, c;
    const first = () => { if (!tFirst) tFirst = now(); };
    const done = (t1) => { record(t1, [Number(t1 - t0), ns(tFirst, t0), bytes, lines]); next(); };
    switch (cfg.collect) {
      case 'buffered':
        c = cp.execFile(file, args, { env, maxBuffer: cfg.max_buffer }, (err, stdout, stderr) => {
          const t1 = now();
          if (err) return fail(`execFile: ${err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' ? err.message : exitReason(err.code, err.signal, stderr)}`);
          bytes = stdout.length; // ASCII: one byte per character
          done(t1);
        });
        c.stdout.once('data', first);
        break;
      case 'streamed':
        c = cp.spawn(file, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
        c.stdout.on('data', (d) => { first(); bytes += d.length; });
        break;
      case 'lines': {
        c = cp.spawn(file, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
        const rl = readline.createInterface({ input: c.stdout, crlfDelay: Infinity });
        rl.on('line', (l) => { first(); lines++; bytes += l.length; }); // characters, '\n' excluded
        break;
      }
      default:
        return fail(`unknown collect mode ${cfg.collect}`);
    }
    c.once('error', (e) => fail(`${cfg.collect}: ${e.message}`));
    if (cfg.collect !== 'buffered') {
      c.once('close', (code, sig) => {
        const t1 = now();
        if (code !== 0) return fail(`output writer: ${exitReason(code, sig)}`);
        done(t1);
      });
    }
  };
  // The Node process's own peak memory growth: high-water mark reset now,
  // before the first op (as ipcbench does for its own collectors).
  let reset = true;
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch (_) { reset = false; }
  if (reset) growth = { base: statusKB('VmRSS') * 1024 };
  ready(['total', 'first_byte', 'bytes', 'lines'], { hwm_reset: reset }, loop(op));
}

// ---- round trips: fork channel, extra stdio pipe, net (unix, tcp) ----

async function roundTripBench() {
  const size = cfg.size;
  if (cfg.transport === 'channel') {
    const [w] = await forkWorker('channel', { serialization: cfg.serialization });
    const data = 'x'.repeat(size); // the payload: a string of size ASCII characters
    let seq = 0, t0 = 0n, next;
    w.on('message', (m) => {
      const t1 = now();
      if (!m || m.seq !== seq || typeof m.data !== 'string' || m.data.length !== size) return fail(`channel: round trip ${seq}: the reply is not the message sent`);
      record(t1, [Number(t1 - t0)]);
      next();
    });
    const op = (n) => { next = n; seq++; t0 = now(); w.send({ seq, data }); };
    return ready(['total'], { worker_pid: w.pid, channel_fd: 3 }, loop(op, () => stopWorker(w)));
  }
  let w, sock, info;
  if (cfg.api === 'stdio') {
    // An extra stdio entry 'pipe': the worker's fd 4.
    [w] = await forkWorker('stdio', { stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'] });
    sock = w.stdio[4];
    info = { worker_pid: w.pid, worker_fd: 4 };
  } else {
    [w] = await forkWorker('net');
    const addr = cfg.transport === 'unix' ?
      '\0ipcbench-node-' + process.pid + '-' + Math.random().toString(36).slice(2) : // abstract: no file to leave behind
      { port: 0, host: '127.0.0.1' };
    const listening = await new Promise((resolve) => { w.once('message', resolve); w.send({ listen: addr }); });
    if (listening.error) return fail(`net server in the worker: ${listening.error}`);
    sock = await new Promise((resolve, reject) => {
      const s = cfg.transport === 'unix' ? net.connect(addr) : net.connect({ port: listening.port, host: '127.0.0.1' });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    sock.setNoDelay(true); // TCP: as ipcbench's own tcp transport (no-op on unix)
    info = { worker_pid: w.pid, local_port: sock.localPort || 0 };
  }
  // Each message carries its sequence number in its first 4 bytes
  // (sizes below 4: not checked); the echo must match.
  const msg = Buffer.alloc(size, 0x61);
  const hdr = Buffer.alloc(4);
  let seq = 0, got = 0, t0 = 0n, next;
  sock.on('data', (d) => {
    if (got < 4) d.copy(hdr, got, 0, Math.min(d.length, 4 - got));
    got += d.length;
    if (got < size) return;
    const t1 = now();
    if (got > size) return fail(`round trip ${seq}: ${got} bytes came back for ${size} sent`);
    if (size >= 4 && hdr.readUInt32LE(0) !== (seq >>> 0)) return fail(`round trip ${seq}: the reply carries message ${hdr.readUInt32LE(0)} (lost or reordered)`);
    record(t1, [Number(t1 - t0)]);
    next();
  });
  sock.on('error', (e) => fail(`${cfg.transport} socket: ${e.message}`));
  sock.on('close', () => { if (!stopping) fail(`${cfg.transport} socket closed by the worker`); });
  const op = (n) => {
    next = n;
    seq++;
    got = 0;
    if (size >= 4) msg.writeUInt32LE(seq >>> 0, 0);
    t0 = now();
    sock.write(msg);
  };
  ready(['total'], info, loop(op, () => { sock.destroy(); return stopWorker(w); }));
}

// ---- main --------------------------------------------------------------

switch (cfg.kind) {
  case 'spawn': spawnBench(); break;
  case 'parentmem': parentMemBench(); break;
  case 'output': outputBench(); break;
  case 'roundtrip': roundTripBench().catch((e) => fail(e && e.message || e, e && e.stack)); break;
  default: fail(`unknown benchmark kind ${cfg.kind}`);
}
