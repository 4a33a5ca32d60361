// Preview-DICOM: keeps the viewer's session alive. The access cookie lives ~10 minutes;
// OHIF cannot refresh it itself, so this renews it while the viewer is open.
(function () {
  var RENEW_EVERY_MS = 4 * 60 * 1000;
  function renew() {
    fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin' }).catch(function () {});
  }
  setInterval(renew, RENEW_EVERY_MS);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') renew();
  });
})();
