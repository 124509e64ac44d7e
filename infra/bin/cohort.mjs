#!/usr/bin/env node
// The `cohort` CLI; the code lives in dist (npm run build).
import '../dist/cli/main.js';
