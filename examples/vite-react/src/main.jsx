// A Vite + React app using session-persist/react exactly as a user installs
// it (`npm install session-persist`), with no bundler configuration for the
// wasm. tests/e2e/react.test.mjs drives it through the data-testid elements.
//
//   ?name=NAME   the session name of the provider (default "vite-react-demo");
//                the standalone part uses NAME + "-solo".
import React from "react";
import { createRoot, hydrateRoot } from "react-dom/client";
import * as bindings from "session-persist/react";
import { App } from "./App.jsx";

// For tests/e2e/react.test.mjs: hydrates server-rendered markup of the
// bindings in this page, with the very React and bindings the app uses.
window.hydrationKit = { React, hydrateRoot, ...bindings };

createRoot(document.getElementById("root")).render(
  <React.StrictMode>
    <App />
  </React.StrictMode>,
);
