/**
 * One HTTP request, run in a child process so that the fake UrlFetchApp can be synchronous like the real one
 * (node:vm code cannot wait for the parent's event loop). Reads the request as JSON on stdin, writes
 * `{status, headers, body}` (body base64) on stdout; a network failure exits 2 with the message on stderr.
 */
let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
try {
  const res = await fetch(req.url, {
    method: req.method,
    headers: req.headers,
    body: req.body ?? undefined,
    redirect: req.followRedirects ? 'follow' : 'manual',
    signal: AbortSignal.timeout(req.timeoutMs),
  });
  const body = Buffer.from(await res.arrayBuffer()).toString('base64');
  process.stdout.write(JSON.stringify({ status: res.status, headers: Object.fromEntries(res.headers), body }));
} catch (err) {
  process.stderr.write(String(err?.cause?.message ?? err?.message ?? err));
  process.exit(2);
}
