/** Stylesheets are imported for their side effect; esbuild bundles them into main-[hash].css. */
declare module '*.css';
