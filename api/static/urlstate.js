/*
 * essmap: keep the resident map's view and category filter in the page URL, so that a link or a
 * partner's iframe shows the same map again.
 *
 *   #map=<zoom>/<lat>/<lon>&category=<a>,<b>      (written as the user moves or filters)
 *   ?category=<a>&category=<b>                     (an initial filter, e.g. in an iframe's src)
 *
 * The hash wins over the query. The resident map publishes its state as window.essmapResident
 * (map, and the actor layer with setCategories / enabledCategories / "categorieschange").
 */
(function (global) {
  'use strict';

  // decodeURIComponent throws URIError on a malformed escape (a truncated or hand-edited link):
  // such a part of the hash is ignored instead of stopping the script.
  function decode(text) {
    try { return decodeURIComponent(text); } catch (e) { return null; }
  }

  function parseHash() {
    var out = {};
    global.location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      var i = part.indexOf('=');
      if (i <= 0) { return; }
      var name = decode(part.slice(0, i));
      var value = decode(part.slice(i + 1));
      if (name !== null && value !== null) { out[name] = value; }
    });
    return out;
  }

  function initialCategories(hash) {
    if (Object.prototype.hasOwnProperty.call(hash, 'category')) {
      return hash.category ? hash.category.split(',') : [];
    }
    var fromQuery = new URLSearchParams(global.location.search).getAll('category');
    return fromQuery.length ? fromQuery : null;
  }

  function syncCheckboxes(enabled) {
    var boxes = global.document.querySelectorAll('input.essmap-filter');
    Array.prototype.forEach.call(boxes, function (box) { box.checked = enabled.has(box.value); });
  }

  function apply(ctx) {
    var map = ctx.map;
    var hash = parseHash();
    var view = (hash.map || '').split('/').map(Number);
    if (view.length === 3 && view.every(isFinite)) {
      map.setView([view[1], view[2]], view[0], { animate: false });
    }
    var categories = initialCategories(hash);
    if (categories !== null) {
      var known = new Set(ctx.data.categories.map(function (c) { return c.key; }));
      var wanted = categories.filter(function (c) { return known.has(c); });
      ctx.layer.setCategories(wanted);
      syncCheckboxes(new Set(wanted));
    }

    function write() {
      var c = map.getCenter();
      var z = map.getZoom();
      var digits = Math.max(0, Math.ceil(Math.log(Math.pow(2, z)) / Math.LN10) + 1);
      var enabled = Array.from(ctx.layer.enabledCategories());
      var all = ctx.data.categories.length;
      var parts = ['map=' + z + '/' + c.lat.toFixed(digits) + '/' + c.lng.toFixed(digits)];
      if (enabled.length !== all) { parts.push('category=' + enabled.map(encodeURIComponent).join(',')); }
      global.history.replaceState(null, '', global.location.pathname + global.location.search + '#' + parts.join('&'));
    }

    map.on('moveend', write);
    ctx.layer.on('categorieschange', write);
    write();
    global.document.documentElement.setAttribute('data-essmap-urlstate', 'ready');
  }

  var waited = 0;
  (function wait() {
    var ctx = global.essmapResident;
    if (ctx && ctx.map && ctx.layer) { apply(ctx); return; }
    waited += 50;
    if (waited < 30000) { global.setTimeout(wait, 50); }
  })();
})(window);
