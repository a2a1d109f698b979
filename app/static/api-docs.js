// Starts Swagger UI on /api/v1/docs. A file, not an inline script, so the page works
// under the Content-Security-Policy (script-src 'self'). The plain endpoint list stays
// visible unless Swagger UI loads (no script, or its files missing).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") {
    return;
  }
  document.getElementById("endpoint-list").hidden = true;
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
});
