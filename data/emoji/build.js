#!/usr/bin/env node
// make data-emoji: builds the multi-style emoji dataset from the pinned npm packages in
// node_modules/ (package-lock.json): matches every set's icons to Unicode emoji, renders them to PNG
// with rsvg-convert, splits by art family and writes the training TSVs and the test class folders.
// The rules (families, clusters, captions, split checks) are in rules.js; README.md documents them.
//
//   node data/emoji/build.js [--out DIR] [--holdout FAMILY] [--size PX] [--tones none|train] [--jobs N]
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const R = require('./rules');

// ---- options -------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = { out: 'datasets/emoji', holdout: 'twemoji', size: 64, tones: 'none', jobs: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
    if (!(k in o) || v === undefined) fail(`unknown option or missing value: ${argv[i]} (options: ${Object.keys(o).map((x) => '--' + x).join(' ')})`);
    o[k] = typeof o[k] === 'number' ? Number(v) : v;
  }
  if (!R.FAMILIES.includes(o.holdout)) fail(`--holdout ${o.holdout}: not a family (${R.FAMILIES.join(', ')})`);
  if (!['none', 'train'].includes(o.tones)) fail(`--tones ${o.tones}: expected none or train`);
  if (!(o.size >= 8 && o.size <= 1024)) fail(`--size ${o.size}: expected 8..1024`);
  if (!(o.jobs >= 1)) fail(`--jobs ${o.jobs}: expected >= 1`);
  return o;
}
function fail(msg) {
  console.error(`data-emoji: ${msg}`);
  process.exit(1);
}
const NM = path.join(__dirname, 'node_modules');
function readJson(rel) {
  const file = path.join(NM, rel);
  if (!fs.existsSync(file)) fail(`${file} is missing: run 'make data-emoji' (it installs the pinned packages with npm ci)`);
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { fail(`${file}: ${e.message}`); }
}
const pkgVersion = (pkg) => readJson(`${pkg}/package.json`).version;

// ---- the emoji: Unicode groups from emojibase, names and keywords from CLDR -----------------------
function loadEmoji() {
  const data = readJson('emojibase-data/en/data.json');
  const meta = readJson('emojibase-data/meta/groups.json');
  const cldr = readJson('cldr-annotations-full/annotations/en/annotations.json').annotations.annotations;
  const derived = readJson('cldr-annotations-derived-full/annotationsDerived/en/annotations.json').annotationsDerived.annotations;
  const unicodeNames = readJson('emojibase-data/meta/unicode-names.json');
  const shortcodeFiles = ['cldr', 'emojibase', 'github', 'iamcal', 'joypixels'].map((f) => readJson(`emojibase-data/en/shortcodes/${f}.json`));
  const stats = { cldr: 0, fallback: 0 };
  const annotate = (emoji, label, tags) => {
    const a = cldr[R.stripFE0F(emoji)] || derived[R.stripFE0F(emoji)] || cldr[emoji] || derived[emoji];
    if (a && a.tts && a.tts.length) { stats.cldr++; return { name: a.tts[0], keywords: a.default || [] }; }
    stats.fallback++;
    return { name: label, keywords: tags || [] };
  };
  const otherNames = (hexcode) => {
    const names = [];
    if (unicodeNames[hexcode]) names.push(unicodeNames[hexcode]);
    for (const sc of shortcodeFiles) { const v = sc[hexcode]; if (v) names.push(...[].concat(v)); }
    return names;
  };
  const entries = [];  // bases and skin-tone variants
  for (const e of data) {
    if (e.group === undefined || e.group === 2) continue;  // regional indicators, components
    const base = { hex: R.normHex(e.hexcode), emoji: e.emoji, group: e.group, subgroup: meta.subgroups[e.subgroup],
      order: e.order, tone: false, label: e.label, others: otherNames(e.hexcode), ...annotate(e.emoji, e.label, e.tags) };
    base.base = base.hex;
    entries.push(base);
    for (const s of e.skins || []) {
      entries.push({ hex: R.normHex(s.hexcode), emoji: s.emoji, group: e.group, subgroup: base.subgroup, order: s.order,
        tone: true, base: base.hex, label: s.label, others: otherNames(s.hexcode), ...annotate(s.emoji, s.label, e.tags) });
    }
  }
  const bases = entries.filter((x) => !x.tone);
  const names = new Set(bases.map((x) => x.name));
  for (const b of bases) b.cluster = R.clusterKey(b.name, names);
  const byHex = new Map(entries.map((x) => [x.hex, x]));
  for (const x of entries) if (x.tone) x.cluster = byHex.get(x.base).cluster;
  return { entries, byHex, stats };
}

// ---- matching each set's icons to emoji ----------------------------------------------------------
// Name-based sets (no chars.json) are matched through slugs in priority order: the CLDR name, the
// emojibase label, the Unicode character name, then the shortcodes; a slug already taken by an
// earlier priority is never reassigned. The separator-free form matches fxemoji ("admissiontickets").
function slugIndex(entries) {
  const exact = new Map(), loose = new Map();
  const add = (slug, hex) => {
    if (!slug) return;
    if (!exact.has(slug)) exact.set(slug, hex);
    if (!loose.has(R.compact(slug))) loose.set(R.compact(slug), hex);
  };
  for (const pass of [(x) => [x.name], (x) => [x.label], (x) => x.others])
    for (const x of entries) for (const n of pass(x)) add(R.slugify(n), x.hex);
  return { exact, loose };
}

function iconifySvg(name, json) {
  // Aliases point at a parent icon and may add flips; the body and the size come from the parent.
  let alias = null, icon = json.icons[name];
  if (!icon && json.aliases && json.aliases[name]) {
    alias = json.aliases[name];
    let parent = alias.parent, hops = 0;
    while (!json.icons[parent] && json.aliases[parent] && hops++ < 8) parent = json.aliases[parent].parent;
    icon = json.icons[parent];
    if (!icon) return null;
  }
  const w = icon.width || json.width || 16, h = icon.height || json.height || 16;
  const left = icon.left || 0, top = icon.top || 0;
  let body = icon.body;
  const hFlip = !!(icon.hFlip ^ (alias && alias.hFlip)), vFlip = !!(icon.vFlip ^ (alias && alias.vFlip));
  const rotate = ((icon.rotate || 0) + ((alias && alias.rotate) || 0)) % 4;
  if (hFlip || vFlip) body = `<g transform="translate(${hFlip ? 2 * left + w : 0} ${vFlip ? 2 * top + h : 0}) scale(${hFlip ? -1 : 1} ${vFlip ? -1 : 1})">${body}</g>`;
  if (rotate) body = `<g transform="rotate(${90 * rotate} ${left + w / 2} ${top + h / 2})">${body}</g>`;
  // A square view box centred on the icon, so that rsvg-convert never stretches a drawing.
  const side = Math.max(w, h), x0 = left - (side - w) / 2, y0 = top - (side - h) / 2;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${side}" height="${side}" viewBox="${x0} ${y0} ${side} ${side}">${body}</svg>`;
}

function matchSet(spec, emoji, index) {
  const found = new Map();  // hex -> {source, name, svg | file}
  let icons = 0, matched = 0;
  if (spec.set === 'openmoji') {
    const list = readJson('openmoji/data/openmoji.json');
    for (const o of list) {
      const file = path.join(NM, 'openmoji/color/svg', `${o.hexcode}.svg`);
      if (!fs.existsSync(file)) continue;
      icons++;
      const hex = R.normHex(o.hexcode);
      if (emoji.byHex.has(hex)) { matched++; if (!found.has(hex)) found.set(hex, { name: o.hexcode, file }); }
    }
    return { found, icons, matched };
  }
  const json = readJson(`${spec.pkg}/icons.json`);
  let chars = {};
  if (fs.existsSync(path.join(NM, spec.pkg, 'chars.json'))) chars = readJson(`${spec.pkg}/chars.json`);
  const byName = new Map();  // icon name -> hex from chars.json
  for (const [h, n] of Object.entries(chars)) { const hex = R.normHex(h); if (emoji.byHex.has(hex) && !byName.has(n)) byName.set(n, hex); }
  const names = [...Object.keys(json.icons).sort(), ...Object.keys(json.aliases || {}).sort()];
  const used = new Set();  // an icon stands for one emoji only
  for (const pass of ['chars', 'exact', 'loose', 'rewrite']) {
    for (const n of names) {
      let hex = null;
      if (pass === 'chars') hex = byName.get(n);
      else if (pass === 'exact') hex = index.exact.get(n);
      else if (pass === 'loose') hex = index.loose.get(R.compact(n));
      else hex = R.nameRewrites(n).map((r) => index.exact.get(r)).find((h) => h);
      if (!hex || found.has(hex) || used.has(n)) continue;
      const svg = iconifySvg(n, json);
      if (svg) { found.set(hex, { name: n, svg }); used.add(n); }
    }
  }
  icons = Object.keys(json.icons).length;
  matched = Object.keys(json.icons).filter((n) => used.has(n)).length;
  return { found, icons, matched, aliasesUsed: [...used].filter((n) => !json.icons[n]).length };
}

// ---- rendering -----------------------------------------------------------------------------------
function render(jobs, size, parallel) {
  return new Promise((resolve, reject) => {
    let next = 0, done = 0, running = 0, failed = null;
    const t0 = Date.now();
    const report = () => {
      const s = (Date.now() - t0) / 1000, rate = done / Math.max(s, 1e-3);
      const line = `render: ${done}/${jobs.length} PNGs  ${rate.toFixed(0)}/s  ETA ${Math.round((jobs.length - done) / Math.max(rate, 1e-3))}s`;
      process.stderr.write(process.stderr.isTTY ? `\r${line}   ` : `${line}\n`);
    };
    const launch = () => {
      if (failed) return;
      if (done === jobs.length) { if (jobs.length) { report(); if (process.stderr.isTTY) process.stderr.write('\n'); } return resolve(); }
      while (running < parallel && next < jobs.length) {
        const j = jobs[next++];
        running++;
        fs.mkdirSync(path.dirname(j.png), { recursive: true });
        const tmp = `${j.png}.tmp`;
        const args = ['-w', String(size), '-h', String(size), '-b', 'white', '-o', tmp];
        if (j.file) args.push(j.file);
        const p = spawn('rsvg-convert', args, { stdio: [j.file ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => { err += d; });
        p.on('error', (e) => { failed = e; reject(new Error(`rsvg-convert: ${e.message} (install librsvg2-bin: tools/setup_data.sh)`)); });
        p.on('close', (code) => {
          running--;
          // A drawing rsvg-convert cannot render is left out and listed (the manifest names it).
          if (code !== 0) {
            fs.rmSync(tmp, { force: true });
            j.error = `${j.what}: ${err.trim().split('\n').pop()}`;
            process.stderr.write(`\nrender: skipped ${j.error}\n`);
          } else {
            fs.renameSync(tmp, j.png);
          }
          done++;
          if (done % (process.stderr.isTTY ? 100 : 1000) === 0) report();
          launch();
        });
        if (!j.file) p.stdin.end(j.svg);
      }
    };
    launch();
  });
}

// ---- outputs -------------------------------------------------------------------------------------
function linkOrCopy(src, dst) {
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  try { fs.linkSync(src, dst); } catch (e) { fs.copyFileSync(src, dst); }
}

async function main() {
  const t0 = Date.now();
  const opt = parseArgs(process.argv.slice(2));
  const out = path.resolve(opt.out);
  const emoji = loadEmoji();
  const index = slugIndex(emoji.entries);
  const bases = emoji.entries.filter((x) => !x.tone);
  console.error(`emoji: ${bases.length} base emoji, ${emoji.entries.length - bases.length} skin-tone variants; ` +
    `names from CLDR ${emoji.stats.cldr}, from emojibase (no CLDR entry) ${emoji.stats.fallback}`);

  // Match every set, then keep what the split uses: bases everywhere, tones only in training.
  const sets = [], images = [], jobs = [];
  for (const spec of R.SETS) {
    const m = matchSet(spec, emoji, index);
    const version = pkgVersion(spec.pkg);
    const heldOut = spec.family === opt.holdout;
    let kept = 0, basesFound = 0;
    for (const [hex, v] of [...m.found.entries()].sort((a, b) => emoji.byHex.get(a[0]).order - emoji.byHex.get(b[0]).order)) {
      const e = emoji.byHex.get(hex);
      if (!e.tone) basesFound++;
      if (e.tone && (heldOut || opt.tones === 'none')) continue;
      const rel = `png/${spec.set}/${hex}.png`;
      const png = path.join(out, rel);
      if (!fs.existsSync(png)) jobs.push({ png, file: v.file, svg: v.svg, what: `${spec.set} ${v.name}` });
      images.push({ family: spec.family, set: spec.set, hex, base: e.base, cluster: e.cluster, tone: e.tone, rel,
        split: heldOut ? 'test' : 'train', entry: e });
      kept++;
    }
    const info = spec.set === 'openmoji' ? { license: { spdx: 'CC-BY-SA-4.0', url: 'https://github.com/hfg-gmuend/openmoji/blob/master/LICENSE.txt' }, author: { name: 'OpenMoji (HfG Schwäbisch Gmünd)', url: 'https://openmoji.org' }, name: 'OpenMoji' } : readJson(`${spec.pkg}/info.json`);
    sets.push({ set: spec.set, package: spec.pkg, version, family: spec.family, title: info.name, author: info.author, license: info.license,
      icons: m.icons, icons_matched: m.matched, match_rate: +(m.matched / m.icons).toFixed(4), aliases_used: m.aliasesUsed || 0,
      emoji_covered: basesFound, emoji_coverage: +(basesFound / bases.length).toFixed(4), images: kept, split: heldOut ? 'test' : 'train' });
    console.error(`match: ${spec.set.padEnd(27)} ${String(m.matched).padStart(4)}/${String(m.icons).padEnd(4)} icons matched (${(100 * m.matched / m.icons).toFixed(1)}%), ` +
      `${basesFound}/${bases.length} base emoji covered, ${kept} images kept (${spec.family}${heldOut ? ', held out' : ''})`);
  }
  console.error(`render: ${jobs.length} of ${images.length} PNGs to draw at ${opt.size}px (${images.length - jobs.length} already there), ${opt.jobs} rsvg-convert processes`);
  const sizeFile = path.join(out, 'png', 'SIZE');
  if (fs.existsSync(sizeFile) && Number(fs.readFileSync(sizeFile, 'utf8')) !== opt.size)
    fail(`${out}/png holds ${fs.readFileSync(sizeFile, 'utf8').trim()}px renders; use another --out for --size ${opt.size}`);
  fs.mkdirSync(path.join(out, 'png'), { recursive: true });
  fs.writeFileSync(sizeFile, `${opt.size}\n`);
  const tRender = Date.now();
  await render(jobs, opt.size, opt.jobs);
  const renderSeconds = (Date.now() - tRender) / 1000;
  const renderFailures = jobs.filter((j) => j.error).map((j) => j.error);
  for (let i = images.length - 1; i >= 0; i--) if (!fs.existsSync(path.join(out, images[i].rel))) images.splice(i, 1);

  // Concept task: clusters in the concrete groups with a held-out image; group task: every cluster.
  const train = images.filter((im) => im.split === 'train'), test = images.filter((im) => im.split === 'test');
  const trainClusters = new Set(train.map((im) => im.cluster));
  const clusterGroup = new Map();
  for (const b of bases) if (!clusterGroup.has(b.cluster)) clusterGroup.set(b.cluster, b.group);
  const byCluster = new Map();
  for (const im of test) { if (!byCluster.has(im.cluster)) byCluster.set(im.cluster, []); byCluster.get(im.cluster).push(im); }
  const conceptClasses = [], groupImages = [];
  let noTrain = 0, noTest = 0;
  for (const [cluster, group] of [...clusterGroup.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const testImages = byCluster.get(cluster) || [];
    if (!trainClusters.has(cluster)) { if (testImages.length) noTrain++; continue; }
    if (!testImages.length) { if (R.CONCRETE_GROUPS.includes(group)) noTest++; continue; }
    // One image per concept class (the lowest code points among its held-out images): a cluster
    // such as "clock face" holds 24 held-out images, and with all of them a model that always
    // answered "clock face" would score 2.8% top-1, far above the 0.12% chance that 819 classes imply.
    const rep = testImages.slice().sort((x, y) => (x.hex < y.hex ? -1 : x.hex > y.hex ? 1 : 0))[0];
    if (R.CONCRETE_GROUPS.includes(group)) conceptClasses.push({ cluster, name: cluster, group, testImages: [rep] });
    for (const im of testImages) groupImages.push({ im, group: R.GROUP_NAMES[group] });
  }
  for (const s of sets) s.images = images.filter((im) => im.set === s.set).length;
  R.verifySplit(images, opt.holdout, { classes: conceptClasses });
  const spread = new Map();
  for (const b of bases) { const g = b.group; if (clusterGroup.get(b.cluster) !== g) spread.set(b.cluster, `${R.GROUP_NAMES[clusterGroup.get(b.cluster)]} / ${R.GROUP_NAMES[g]}`); }

  // Training TSVs: every caption form as its own row in train.tsv, and one TSV per form; each
  // with a header line and the emoji's Unicode group and subgroup as columns (set sampling).
  const forms = Object.fromEntries(R.CAPTION_FORMS.map((f) => [f, []]));
  for (const im of train) {
    const caps = R.captions(im.entry);
    for (const f of R.CAPTION_FORMS) forms[f].push(R.tsvRow(im.rel, caps[f], im.entry));
  }
  const all = [];
  for (let i = 0; i < train.length; i++) for (const f of R.CAPTION_FORMS) all.push(forms[f][i]);
  const header = R.TSV_COLUMNS.join('\t');
  fs.writeFileSync(path.join(out, 'train.tsv'), [header, ...all].join('\n') + '\n');
  for (const f of R.CAPTION_FORMS) fs.writeFileSync(path.join(out, `train-${f}.tsv`), [header, ...forms[f]].join('\n') + '\n');

  // Test class folders (hard links to the renders), rebuilt from scratch on every run.
  const testDir = path.join(out, 'test');
  fs.rmSync(testDir, { recursive: true, force: true });
  for (const c of conceptClasses)
    for (const im of c.testImages) linkOrCopy(path.join(out, im.rel), path.join(testDir, 'concept', R.folderName(c.name), `${im.set}_${im.hex}.png`));
  for (const { im, group } of groupImages)
    linkOrCopy(path.join(out, im.rel), path.join(testDir, 'group', R.folderName(group), `${im.set}_${im.hex}.png`));
  fs.copyFileSync(path.join(__dirname, 'templates.txt'), path.join(out, 'templates.txt'));
  // The concept task split by Unicode group and by subgroup (`hyperclip eval --task-split FILE`):
  // one line "class<TAB>task" per concept class; a class's subgroup is its test image's.
  const conceptGroups = conceptClasses.map((c) => `${c.name}\t${R.GROUP_NAMES[c.group]}`);
  const conceptSubgroups = conceptClasses.map((c) => `${c.name}\t${c.testImages[0].entry.subgroup}`);
  fs.writeFileSync(path.join(testDir, 'concept-groups.tsv'), conceptGroups.join('\n') + '\n');
  fs.writeFileSync(path.join(testDir, 'concept-subgroups.tsv'), conceptSubgroups.join('\n') + '\n');

  // Concept list, licences and the manifest.
  const conceptRows = ['hex\temoji\tname\tcluster\tgroup\tsubgroup\tkeywords'];
  for (const b of bases) conceptRows.push([b.hex, b.emoji, b.name, b.cluster, R.GROUP_NAMES[b.group], b.subgroup, b.keywords.join(', ')].join('\t'));
  fs.writeFileSync(path.join(out, 'concepts.tsv'), conceptRows.join('\n') + '\n');
  writeLicenses(out, sets);
  const perFamily = {};
  for (const im of images) perFamily[im.family] = (perFamily[im.family] || 0) + 1;
  const groupCounts = {};
  for (const { group } of groupImages) groupCounts[group] = (groupCounts[group] || 0) + 1;
  const manifest = {
    size: opt.size, holdout: opt.holdout, tones: opt.tones,
    sources: { emoji: `emojibase-data@${pkgVersion('emojibase-data')}`, names: `cldr-annotations-full@${pkgVersion('cldr-annotations-full')}`, derived_names: `cldr-annotations-derived-full@${pkgVersion('cldr-annotations-derived-full')}` },
    emoji: { bases: bases.length, tone_variants: emoji.entries.length - bases.length, clusters: new Set(bases.map((b) => b.cluster)).size, names_from_cldr: emoji.stats.cldr, names_from_emojibase: emoji.stats.fallback },
    families: perFamily, sets,
    train: { images: train.length, rows: all.length, images_per_group: countBy(train, (im) => R.GROUP_NAMES[im.entry.group]),
      subgroups: new Set(train.map((im) => im.entry.subgroup)).size, caption_forms: R.CAPTION_FORMS, clusters: trainClusters.size },
    test: {
      concept: { per_group: countBy(conceptClasses, (c) => R.GROUP_NAMES[c.group]), classes: conceptClasses.length, images: conceptClasses.reduce((n, c) => n + c.testImages.length, 0), chance_top1: +(1 / conceptClasses.length).toFixed(5), chance_top5: +(5 / conceptClasses.length).toFixed(5), dropped_no_test_image: noTest, groups: R.CONCRETE_GROUPS.map((g) => R.GROUP_NAMES[g]) },
      group: { classes: Object.keys(groupCounts).length, images: groupImages.length, per_class: groupCounts, dropped_no_train_image: noTrain },
    },
    clusters_spanning_groups: Object.fromEntries(spread),
    render_seconds: +renderSeconds.toFixed(1), rendered: jobs.length - renderFailures.length, render_failures: renderFailures,
  };
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

  console.log(`emoji dataset in ${out} (${opt.size}px, held-out family ${opt.holdout}, tones ${opt.tones})`);
  console.log(`  concepts: ${bases.length} base emoji in ${manifest.emoji.clusters} clusters; names from CLDR for ${emoji.stats.cldr}/${emoji.entries.length}`);
  for (const f of R.FAMILIES) console.log(`  family ${f.padEnd(11)} ${String(perFamily[f] || 0).padStart(5)} images  (${sets.filter((s) => s.family === f).map((s) => s.set).join(', ')})${f === opt.holdout ? '  <- test' : ''}`);
  console.log(`  train: ${train.length} images, ${all.length} rows in train.tsv (${R.CAPTION_FORMS.join(', ')}), ${trainClusters.size} clusters`);
  console.log(`  train groups: ${Object.entries(manifest.train.images_per_group).map(([g, n]) => `${g} ${n}`).join(', ')} images; ${manifest.train.subgroups} subgroups`);
  console.log(`  test/concept: ${conceptClasses.length} classes, ${manifest.test.concept.images} images (chance top-1 ${(100 / conceptClasses.length).toFixed(2)}%)`);
  console.log(`  test/concept by group: ${Object.entries(manifest.test.concept.per_group).map(([g, n]) => `${g} ${n}`).join(', ')} (concept-groups.tsv)`);
  console.log(`  test/group:   ${manifest.test.group.classes} classes, ${groupImages.length} images`);
  console.log(`  rendered ${jobs.length - renderFailures.length} PNGs (${renderFailures.length} failed) in ${renderSeconds.toFixed(0)}s; total ${((Date.now() - t0) / 1000).toFixed(0)}s`);
}

function countBy(items, key) {
  const counts = {};
  for (const x of items) counts[key(x)] = (counts[key(x)] || 0) + 1;
  return counts;
}

function writeLicenses(out, sets) {
  const lines = ['# Licences of the emoji dataset', '',
    'Every image is a rendering of an SVG from the npm package named below (version pinned in',
    'data/emoji/package-lock.json). Names and keywords: Unicode CLDR (Unicode License v3,',
    'https://www.unicode.org/license.txt) via cldr-annotations-full / cldr-annotations-derived-full;',
    'groups and skin-tone structure: emojibase-data (MIT).', '',
    '| set | package | family | author | licence |', '|---|---|---|---|---|'];
  for (const s of sets) lines.push(`| ${s.title} | ${s.package}@${s.version} | ${s.family} | ${(s.author && s.author.name) || ''} | [${s.license.spdx}](${s.license.url}) |`);
  lines.push('', 'CC BY and CC BY-SA sets require attribution (above); CC BY-SA sets (OpenMoji, Emoji One v1) require',
    'that adapted material is shared under the same licence.', '');
  fs.writeFileSync(path.join(out, 'LICENSES.md'), lines.join('\n'));
}

main().catch((e) => fail(e.message));
