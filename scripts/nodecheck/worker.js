// The worker of fork.js: ready at once; it exits when the parent disconnects.
process.send('ready');
