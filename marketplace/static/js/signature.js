/* Drawn signature on a canvas (pointer events: finger, stylus, mouse). On submit the drawing is put in the
   form's hidden field as a PNG data URL; an untouched canvas sends nothing (the form then needs the
   « Je certifie être présent(e) » box and the typed name). No inline script: the CSP forbids them. */
(function () {
  "use strict";
  function setup(pad) {
    var canvas = pad.querySelector("canvas");
    var field = pad.querySelector("[data-signature-field]");
    var clear = pad.querySelector("[data-clear]");
    var form = pad.closest("form");
    var ctx = canvas.getContext("2d");
    var drawing = false, drawn = false, last = null;
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: (event.clientX - rect.left) * canvas.width / rect.width,
               y: (event.clientY - rect.top) * canvas.height / rect.height };
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault(); drawing = true; last = point(event);
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* ignore */ } }
      ctx.beginPath(); ctx.arc(last.x, last.y, 1, 0, 2 * Math.PI); ctx.fill(); drawn = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var p = point(event);
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      last = p; drawn = true;
    });
    function stop() { drawing = false; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; field.value = "";
      });
    }
    if (form) {
      form.addEventListener("submit", function () { field.value = drawn ? canvas.toDataURL("image/png") : ""; });
    }
  }
  document.querySelectorAll("[data-signature-pad]").forEach(setup);
})();
