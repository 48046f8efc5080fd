const root = process.argv[2]
const { SingleConnectionPool } = await import(`${root}/src/pool/index.js`)
const { acquireDirect, releaseDirect } = await import(`${root}/src/pool/direct.js`)
const pool = new SingleConnectionPool({ open: async () => ({}), close: async () => {} }, {})
const N = 200_000
for (let r = 0; r < 4; r++) {
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const c = await acquireDirect(pool)
    await releaseDirect(pool, c)
  }
  const t = performance.now() - t0
  if (r > 0) console.log(`${root.includes('base') ? 'before' : 'after '}: ${(t * 1000 / N).toFixed(2)} us per checkout+checkin`)
}
await pool.dispose()
