import type { NextConfig } from "next";

// No bundler configuration for session-persist's WebAssembly: Next.js bundles it as
// it is installed from npm. The only setting says this folder is the project root
// (the library's own package-lock.json one level up would be taken for it otherwise).
const nextConfig: NextConfig = {
  turbopack: { root: __dirname },
};

export default nextConfig;
