// The use-case form's error summary is read first, before the form (instead of change_form.js,
// which would focus the add form's first field). A file, not inline: the site's CSP runs no
// inline script.
document.getElementById("error-summary")?.focus();
