// Independent check of ipcbench's Spawn/mode=fork/runtime=node: plain Node, no
// ipcbench code. fork() -> first message -> exit, one after another; usage:
// node scripts/nodecheck/fork.js [N]
const { fork } = require('child_process');
const N = +process.argv[2] || 30;
const ready = [], whole = [];
function one(i) {
  const t0 = process.hrtime.bigint();
  const c = fork(__dirname + '/worker.js');
  c.once('message', () => { ready.push(Number(process.hrtime.bigint() - t0) / 1e6); c.disconnect(); });
  c.once('exit', () => {
    whole.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (i + 1 < N) one(i + 1); else {
      const med = a => { a = a.slice(1).sort((x, y) => x - y); return a[a.length >> 1].toFixed(1); };
      console.log(`node ${process.version} fork x${N - 1} (first dropped): ready p50 ${med(ready)} ms, exit p50 ${med(whole)} ms`);
    }
  });
}
one(0);
