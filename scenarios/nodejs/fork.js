'use strict';
// ipcbench's fork worker in Node (Spawn/mode=fork/runtime=node): ready at
// once, ends when its channel closes, as Spawn/mode=fork's Go worker.
process.on('message', () => {});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
