import { defineConfig, type Plugin } from "vite";
import preact from "@preact/preset-vite";
import { babelOptimizerPlugin } from "@graphql-codegen/client-preset";

// The server serves dist/ at /admin. `npm run dev` proxies the API to a running
// `leadwire serve` (LEADWIRE_API, default http://127.0.0.1:8000), websocket included.
const api = process.env.LEADWIRE_API ?? "http://127.0.0.1:8000";

/** The generated documents are pretty-printed; GraphQL needs none of that whitespace. */
function compactDocuments(): Plugin {
  return {
    name: "leadwire-compact-graphql-documents",
    enforce: "pre",
    transform(code, id) {
      if (!id.replace(/\\/g, "/").endsWith("/src/gql/graphql.ts")) return null;
      return { code: code.replace(/TypedDocumentString\(`([^`]*)`/g, (_m, doc: string) => `TypedDocumentString(\`${doc.replace(/\s+/g, " ").trim()}\``), map: null };
    },
  };
}

export default defineConfig({
  base: "/admin/",
  plugins: [
    compactDocuments(),
    preact({
      // Each graphql(`...`) call becomes an import of its generated document, so
      // the bundle holds only the operations it uses, each once.
      babel: { plugins: [[babelOptimizerPlugin, { artifactDirectory: "./src/gql", gqlTagName: "graphql" }]] },
    }),
  ],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: true,
    target: "es2022",
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/graphql": { target: api, ws: true, changeOrigin: false },
    },
  },
});
