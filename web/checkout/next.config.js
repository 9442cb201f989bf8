/** The buyer's checkout page: a static export (web/checkout/out) that
 * b4-gateway serves at /pay/, as CloudFront would serve a bucket.  Every
 * /pay/<CODE> answers with out/index.html (the gateway's fallback), and the
 * page reads the offer code from the address at run time: a static export
 * cannot pre-render codes it does not know. */
module.exports = {
  output: 'export',
  basePath: '/pay',
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
  // the dev server (npm run dev, port 3000) calls the gateway through CORS
  env: { NEXT_PUBLIC_API_BASE: process.env.NEXT_PUBLIC_API_BASE || '' },
};
