// The container's HEALTHCHECK: healthy while ccproxy's /health answers and does not say "fail" (no
// usable subscription credentials), whether that comes as a 200 or a 503. `warn` (SDK mode's agent
// not usable, say) is still healthy: API mode serves.
const port = process.env.SERVER__PORT || '8000';
try {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) });
  const body = await res.json();
  if (body.serviceId !== 'ccproxy') throw new Error(`not ccproxy on port ${port}`);
  if (body.status === 'fail') {
    const failed = Object.values(body.checks ?? {})
      .flat()
      .filter((c) => c.status === 'fail')
      .map((c) => c.output);
    throw new Error(failed.join(' ') || 'health: fail');
  }
  process.exit(0);
} catch (err) {
  console.error(`unhealthy: ${err.message}`);
  process.exit(1);
}
