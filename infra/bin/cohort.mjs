#!/usr/bin/env -S node --max-semi-space-size=4
// The `cohort` CLI; the code lives in dist (npm run build). A young generation of a few MB: what
// a long replay allocates dies within a batch, and V8's default would keep tens of MB of it
// resident, growing with the length of the stream.
import '../dist/cli/main.js';
