/*
 * essmap resident map, walking distances: when an essmap server serves the page and its store
 * holds a street network (data.walkNetwork, data.api.nearest), the nearest list, first drawn in
 * a straight line, is replaced by the server's answer on foot (/nearest?mode=walk, the supply
 * categories shown): walking minutes and metres, and a directions link for each point.
 * While the server has not answered, or when it fails, the straight-line list stays as it is.
 */
(function (global) {
  'use strict';

  var Essmap = global.Essmap;
  var h = Essmap.escapeHtml;
  var _ = Essmap._;
  var fmt = Essmap.fmt;
  var K = 3;

  function available(ctx) {
    var api = ctx.data.api;
    return !!(api && api.nearest && ctx.data.walkNetwork);
  }

  /** The supply categories shown on the map (the filter of the nearest list). */
  function shownSupply(ctx) {
    var enabled = ctx.layer.enabledCategories();
    return ctx.data.supplyCategories.filter(function (c) { return enabled.has(c); });
  }

  /** Index of the page's actors by id (built once). */
  function indexById(ctx) {
    if (!ctx.actorIndexById) {
      var map = new Map();
      var ids = ctx.actors.cols.id || [];
      for (var i = 0; i < ctx.actors.n; i++) { map.set(ids[i], i); }
      ctx.actorIndexById = map;
    }
    return ctx.actorIndexById;
  }

  /** Whole minutes as shown (at least one). */
  function minutes(value) {
    return Math.max(1, Math.round(value));
  }

  function walkItem(ctx, i, p) {
    var estimate = p.distance_method !== 'network';
    var text = fmt(estimate ? _('{minutes} min à pied ({distance}), estimation') : _('{minutes} min à pied ({distance})'),
      { minutes: minutes(p.walk_minutes), distance: Essmap.formatDistance(p.distance_m) });
    var link = '';
    if (p.directions_url) {
      link = ' · <a class="essmap-directions" href="' + h(p.directions_url) + '" target="_blank" rel="noopener">' +
        h(_('Itinéraire')) + '<span class="essmap-visually-hidden"> ' +
        h(fmt(_('vers {name} (nouvel onglet)'), { name: ctx.actors.get(i, 'name') })) + '</span></a>';
    }
    return {
      i: i,
      distance: '<span class="essmap-distance essmap-walk">' + h(text) + '</span>',
      link: link,
      attrs: ' data-walk-minutes="' + h(String(p.walk_minutes)) + '" data-distance-m="' + h(String(p.distance_m)) +
        '" data-distance-method="' + h(p.distance_method) + '"'
    };
  }

  /** The walked list from the server's answer; null when it cannot replace the straight-line one. */
  function walkedHtml(ctx, origin, body) {
    var ids = indexById(ctx);
    var items = [];
    var estimated = false;
    (body.features || []).forEach(function (f) {
      var i = ids.get(String(f.id));
      var p = f.properties || {};
      if (i === undefined || typeof p.walk_minutes !== 'number' || typeof p.distance_m !== 'number') { return; }
      if (p.distance_method !== 'network') { estimated = true; }
      items.push(walkItem(ctx, i, p));
    });
    if (!items.length) { return null; }
    var hint = estimated
      ? _('Distances à pied sur le réseau des rues ; « estimation » : point éloigné des rues connues, distance en ligne droite allongée d\u2019un détour.')
      : _('Distances à pied sur le réseau des rues, avec le temps de marche.');
    return global.EssmapResident.nearestHtml(ctx, origin, items, hint);
  }

  function walkUrl(ctx, latlng, categories) {
    var params = new URLSearchParams();
    params.set('lon', latlng.lng.toFixed(6));
    params.set('lat', latlng.lat.toFixed(6));
    params.set('k', String(K));
    params.set('mode', 'walk');
    categories.forEach(function (c) { params.append('category', c); });
    return ctx.data.api.nearest + '?' + params.toString();
  }

  /**
   * Ask the server for the nearest supply points on foot from latlng, and show them in place of
   * the straight-line list when it answers (ctx.walkState: pending, shown, failed or kept).
   */
  function refine(ctx, latlng, origin) {
    if (!available(ctx)) { return; }
    if (ctx.walkRequest) { ctx.walkRequest.abort(); }
    var seq = (ctx.walkSeq || 0) + 1;
    ctx.walkSeq = seq;
    var categories = shownSupply(ctx);
    if (!categories.length) { ctx.walkState = 'kept'; return; }
    ctx.walkState = 'pending';
    ctx.walkRequest = new AbortController();
    fetch(walkUrl(ctx, latlng, categories), { signal: ctx.walkRequest.signal, headers: { Accept: 'application/geo+json' } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (body) {
        if (seq !== ctx.walkSeq) { return; }
        var html = walkedHtml(ctx, origin, body);
        if (html === null) { ctx.walkState = 'kept'; return; }
        ctx.setNearest(html);
        ctx.walkState = 'shown';
      })
      .catch(function (error) {
        if (error && error.name === 'AbortError') { return; }
        // the straight-line list and its hint stay
        if (seq === ctx.walkSeq) { ctx.walkState = 'failed'; }
      });
  }

  global.EssmapResidentWalk = { refine: refine, available: available };
})(window);
