#!/usr/bin/env node
// Placeholder for commands whose feature has not landed yet: says so clearly and fails.
const [command, issue] = process.argv.slice(2);
console.error(`npm run ${command}: not built yet (issue ${issue}).`);
process.exit(1);
