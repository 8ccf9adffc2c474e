// Lints an email's HTML against caniemail's support data with doiuse-email (`make email-lint`
// installs it): node tests/email_lint.cjs MODULE_DIR CLIENT_GLOBS < email.html  →  JSON on stdout,
// {"success", "errors": [...], "notes": [...]}. Used by tests/unit/test_email_html.py only.
"use strict";
const { doIUseEmail } = require(process.argv[2]);
const clients = process.argv[3].split(",");
let html = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (html += chunk));
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(doIUseEmail(html, { emailClients: clients })));
});
