/*
 * essmap: the page that writes the <iframe> code of the embeddable map. The partner chooses the
 * categories, the language and the size, and moves the preview to the view wanted; the code
 * keeps the view and the filter in the iframe's URL (#map=zoom/lat/lon, ?category=…).
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;
  var _ = Essmap._;

  function start() {
    var data = JSON.parse(document.getElementById('essmap-embed-code-data').textContent);
    Essmap.messages = data.messages || {};
    var main = document.getElementById('essmap-embed-code');
    var boxes = data.categories.map(function (c) {
      return '<li><label><input type="checkbox" name="category" value="' + h(c.key) + '" checked> ' + h(c.label) + '</label></li>';
    }).join('');
    var languages = data.languages.map(function (l) {
      return '<option value="' + h(l.code) + '"' + (l.code === data.lang ? ' selected' : '') + '>' + h(l.name) + '</option>';
    }).join('');
    main.insertAdjacentHTML('beforeend',
      '<p>' + h(_('Choisissez ce que la carte montre, déplacez l\u2019aperçu sur la zone voulue, puis copiez le code dans votre page.')) + '</p>' +
      '<form id="essmap-embed-form" class="essmap-embed-form">' +
      '<fieldset><legend>' + h(_('Catégories affichées')) + '</legend><ul class="essmap-legend-list">' + boxes + '</ul></fieldset>' +
      '<fieldset><legend>' + h(_('Présentation')) + '</legend>' +
      '<label for="essmap-embed-lang">' + h(_('Langue')) + '</label> <select id="essmap-embed-lang">' + languages + '</select> ' +
      '<label for="essmap-embed-width">' + h(_('Largeur (pixels ou %)')) + '</label> <input id="essmap-embed-width" value="100%" size="6" aria-describedby="essmap-embed-width-error"> ' +
      '<label for="essmap-embed-height">' + h(_('Hauteur (pixels)')) + '</label> <input id="essmap-embed-height" value="450" size="6" inputmode="numeric" aria-describedby="essmap-embed-height-error">' +
      '<p id="essmap-embed-width-error" class="essmap-error" hidden></p><p id="essmap-embed-height-error" class="essmap-error" hidden></p>' +
      '</fieldset><p id="essmap-embed-categories-warning" class="essmap-warning" role="status" hidden></p></form>' +
      '<h2>' + h(_('Aperçu')) + '</h2>' +
      '<iframe id="essmap-embed-preview" title="' + h(_('Aperçu de la carte intégrée')) + '" width="100%" height="420"></iframe>' +
      '<h2><label for="essmap-embed-snippet">' + h(_('Code à copier')) + '</label></h2>' +
      '<textarea id="essmap-embed-snippet" rows="4" readonly></textarea>' +
      '<p><button type="button" id="essmap-embed-copy">' + h(_('Copier le code')) + '</button> ' +
      '<span id="essmap-embed-status" role="status" aria-live="polite"></span></p>');

    var form = document.getElementById('essmap-embed-form');
    var preview = document.getElementById('essmap-embed-preview');
    var snippet = document.getElementById('essmap-embed-snippet');
    var view = '';

    function query() {
      var params = new URLSearchParams();
      var checked = Array.prototype.filter.call(form.querySelectorAll('input[name=category]'), function (b) { return b.checked; });
      if (checked.length !== data.categories.length) { checked.forEach(function (b) { params.append('category', b.value); }); }
      params.set('lang', document.getElementById('essmap-embed-lang').value);
      return params.toString();
    }

    /**
     * A size typed by the partner: "800", "800px" or "800 px" (pixels, within [min, max]) or, where
     * percents are allowed, "80%" (10 to 100); null when it is none of these.
     */
    function parseSize(value, min, max, percent) {
      var text = String(value || '').trim().toLowerCase().replace(/\s+/g, '');
      var match = /^(\d{1,5})(px|%)?$/.exec(text);
      if (!match) { return null; }
      var n = Number(match[1]);
      if (match[2] === '%') { return percent && n >= 10 && n <= 100 ? n + '%' : null; }
      return n >= min && n <= max ? String(n) : null;
    }

    /** The size of an input, or its last valid value with the field marked invalid and why. */
    var valid = { 'essmap-embed-width': '100%', 'essmap-embed-height': '450' };
    var rules = {
      'essmap-embed-width': [200, 4000, true, _('Largeur : de 200 à 4000 pixels, ou de 10 à 100 %. Le code garde la dernière largeur valable.')],
      'essmap-embed-height': [200, 2000, false, _('Hauteur : de 200 à 2000 pixels. Le code garde la dernière hauteur valable.')]
    };
    function checkedSize(id) {
      var input = document.getElementById(id);
      var rule = rules[id];
      var parsed = parseSize(input.value, rule[0], rule[1], rule[2]);
      var error = document.getElementById(id + '-error');
      if (parsed === null) {
        input.setAttribute('aria-invalid', 'true');
        error.textContent = rule[3];
        error.hidden = false;
        return valid[id];
      }
      input.removeAttribute('aria-invalid');
      error.hidden = true;
      valid[id] = parsed;
      return parsed;
    }

    function languageOf(code) {
      return data.languages.filter(function (l) { return l.code === code; })[0] || data.languages[0];
    }

    function write() {
      var src = global.location.origin + data.embedUrl + '?' + query() + (view ? '#map=' + view : '');
      var width = checkedSize('essmap-embed-width');
      var height = checkedSize('essmap-embed-height');
      var title = languageOf(document.getElementById('essmap-embed-lang').value).iframeTitle;
      snippet.value = '<iframe src="' + h(src) + '" width="' + h(width) + '" height="' + h(height) +
        '" style="border:0" loading="lazy" title="' + h(title) + '"></iframe>';
      var none = !form.querySelector('input[name=category]:checked');
      var warning = document.getElementById('essmap-embed-categories-warning');
      warning.textContent = none ? _('Aucune catégorie cochée : la carte intégrée les montrera toutes.') : '';
      warning.hidden = !none;
    }

    function reload() {
      preview.src = data.embedUrl + '?' + query() + (view ? '#map=' + view : '');
      write();
    }

    // the view of the preview, read from its URL (same server) as the partner moves it
    setInterval(function () {
      var hash;
      try { hash = preview.contentWindow.location.hash; } catch (e) { return; }
      var match = /map=([^&]+)/.exec(hash || '');
      if (match && match[1] !== view) { view = match[1]; write(); }
    }, 500);

    form.addEventListener('change', reload);
    form.addEventListener('input', write);
    document.getElementById('essmap-embed-copy').addEventListener('click', function () {
      snippet.select();
      var done = function () { document.getElementById('essmap-embed-status').textContent = _('Code copié.'); };
      if (navigator.clipboard) { navigator.clipboard.writeText(snippet.value).then(done, done); } else { document.execCommand('copy'); done(); }
    });
    reload();
    document.documentElement.setAttribute('data-essmap-embed-code', 'ready');
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})(window);
