// The split, clustering and caption rules of the multi-style emoji dataset, as pure functions so
// that test_rules.js can check them without npm packages or the network (build.js applies them).
'use strict';

// Every package that carries emoji art, and the art family it belongs to. A family is one line of
// drawings by one vendor: the same vendor's older and newer sets count as one family (they share
// designers, palettes and often whole drawings), and so do the three renderings of Microsoft's
// Fluent emoji (3D, flat, high contrast are traced from the same designs). The split is by family,
// so no drawing that shares an origin with a test image is ever trained on.
const SETS = [
  { set: 'openmoji', pkg: 'openmoji', family: 'openmoji' },
  { set: 'noto', pkg: '@iconify-json/noto', family: 'google' },
  { set: 'noto-v1', pkg: '@iconify-json/noto-v1', family: 'google' },
  { set: 'twemoji', pkg: '@iconify-json/twemoji', family: 'twemoji' },
  { set: 'emojione', pkg: '@iconify-json/emojione', family: 'emojione' },
  { set: 'emojione-v1', pkg: '@iconify-json/emojione-v1', family: 'emojione' },
  { set: 'fluent-emoji', pkg: '@iconify-json/fluent-emoji', family: 'microsoft' },
  { set: 'fluent-emoji-flat', pkg: '@iconify-json/fluent-emoji-flat', family: 'microsoft' },
  { set: 'fluent-emoji-high-contrast', pkg: '@iconify-json/fluent-emoji-high-contrast', family: 'microsoft' },
  { set: 'fxemoji', pkg: '@iconify-json/fxemoji', family: 'mozilla' },
  { set: 'streamline-emojis', pkg: '@iconify-json/streamline-emojis', family: 'streamline' },
];
const FAMILIES = [...new Set(SETS.map((s) => s.family))];

// Unicode's top-level groups (emojibase's numbering) with the names the group task uses, and the
// groups of concrete things whose concepts form the concept task.
const GROUP_NAMES = {
  0: 'smileys & emotion', 1: 'people & body', 2: 'component', 3: 'animals & nature', 4: 'food & drink',
  5: 'travel & places', 6: 'activities', 7: 'objects', 8: 'symbols', 9: 'flags',
};
const CONCRETE_GROUPS = [3, 4, 5, 6, 7];

// Code-point sequences are compared without U+FE0F (the emoji presentation selector): packages
// disagree on whether they write it, and it never changes which emoji is meant.
function normHex(hex) {
  return hex.toUpperCase().replace(/_/g, '-').split('-').filter((h) => h && h !== 'FE0F').join('-');
}
function stripFE0F(s) {
  return s.replace(/\uFE0F/g, '');
}

// Icon-name slugs: lower case, ASCII letters and digits, words joined by '-'. "Piñata" -> "pinata",
// "woman’s hat" -> "womans-hat", "flag: Côte d’Ivoire" -> "flag-cote-divoire".
function slugify(name) {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[’'`]/g, '').replace(/&/g, ' and ').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}
const compact = (slug) => slug.replace(/-/g, '');

// Rewrites of a set's icon name tried after the exact and separator-free matches failed: numbered
// alternatives ("man-gesturing-no-2", Streamline), "flag-for-canada" (Emoji One) for CLDR's
// "flag: Canada", and Fluent's short tone suffixes ("waving-hand-light").
const TONES = ['light', 'medium-light', 'medium', 'medium-dark', 'dark'];
function nameRewrites(name) {
  const out = [];
  if (/-\d+$/.test(name)) out.push(name.replace(/-\d+$/, ''));
  if (name.startsWith('flag-for-')) out.push('flag-' + name.slice(9));
  const tone = name.match(/^(.+?)-(light|medium-light|medium|medium-dark|dark)$/);
  if (tone && !name.endsWith('-skin-tone')) out.push(`${tone[1]}-${tone[2]}-skin-tone`);
  return out;
}

// The near-duplicate rule: emoji whose names differ only by a gendered or person prefix, by a
// " face" / " with face" suffix, by "oncoming " or ": facing right", family / kiss / couple
// compositions, and the 24 clock faces, are one
// concept (cluster). `names` is the set of all base names, so that a suffix is only dropped when
// the shorter name is itself an emoji ("cat face" -> "cat", but "clown face" stays).
function clusterKey(name, names) {
  let n = name;
  const colon = n.indexOf(': ');
  if (colon >= 0) {  // "family: man, woman, boy" -> "family"; "man: beard" -> "beard"; "flag: Japan" stays
    const head = n.slice(0, colon), tail = n.slice(colon + 2);
    if (tail === 'facing right') n = head;  // "person running: facing right" -> "person running"
    else if (/^(man|woman|person)$/.test(head)) n = tail;
    else if (/^(family|kiss|couple with heart)$/.test(head)) n = head;
  }
  const gendered = n.match(/^(woman and man|man and woman|man|woman|person|men|women|people) (.+)$/);
  if (gendered) n = gendered[2];
  if (/^(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)(-thirty| o’clock)$/.test(n)) return 'clock face';
  for (const [re, rep] of [[/ with face$/, ''], [/ face$/, ''], [/^oncoming /, '']]) {
    const shorter = n.replace(re, rep);
    if (shorter !== n && names.has(shorter)) return shorter;
  }
  return n;
}

// Caption forms written for each training image (train.tsv holds every form, one row each;
// train-<form>.tsv one form). name: the CLDR name; sentence: the prompt form that zero-shot
// templates use; keywords: the name and its CLDR keywords; groups: the name with its Unicode group
// and subgroup.
const CAPTION_FORMS = ['name', 'sentence', 'keywords', 'groups'];
function captions(e, maxKeywords = 8) {
  const kws = e.keywords.filter((k) => k !== e.name).slice(0, maxKeywords);
  return {
    name: e.name,
    sentence: `an emoji of ${e.name}.`,
    keywords: kws.length ? `${e.name}: ${kws.join(', ')}` : e.name,
    groups: `${e.name} (${GROUP_NAMES[e.group]}, ${e.subgroup.replace(/-/g, ' ')})`,
  };
}

// Training TSV rows: a header naming the columns, then one row per caption. The `group` and
// `subgroup` columns (Unicode group name and emojibase subgroup) are what `hyperclip train
// --set-sampling group` fills each set from; `hyperclip` reads a first line "path<TAB>caption..."
// as the header (docs/hypernetwork.md).
const TSV_COLUMNS = ['path', 'caption', 'group', 'subgroup'];
function tsvRow(rel, caption, e) {
  const row = [rel, caption, GROUP_NAMES[e.group], e.subgroup];
  for (const v of row) if (!v || /[\t\n\r]/.test(v)) throw new Error(`TSV field '${v}' is empty or holds a tab or line break`);
  return row.join('\t');
}

// Class-folder names for the `folder:` reader, which reads '_' as a space.
function folderName(className) {
  if (/[/_\0]/.test(className) || className.startsWith('.')) throw new Error(`class name '${className}' cannot be a folder name`);
  return className.replace(/ /g, '_');
}

// Checks the split over the final image list and throws on the first broken rule.
// images: [{family, set, hex, base, cluster, split: 'train'|'test', tone}]
function verifySplit(images, holdout, concept) {
  const problems = [];
  for (const im of images) {
    if (im.split === 'test' && im.family !== holdout) problems.push(`${im.set} ${im.hex}: test image from training family ${im.family}`);
    if (im.split === 'train' && im.family === holdout) problems.push(`${im.set} ${im.hex}: held-out family ${holdout} in training`);
    if (im.split === 'test' && im.tone) problems.push(`${im.set} ${im.hex}: skin-tone variant in the test set`);
  }
  const trainClusters = new Set(images.filter((im) => im.split === 'train').map((im) => im.cluster));
  for (const c of concept.classes) {
    if (!trainClusters.has(c.cluster)) problems.push(`concept class '${c.name}' has no training image`);
    if (!c.testImages.length) problems.push(`concept class '${c.name}' has no test image`);
  }
  const names = concept.classes.map((c) => c.name);
  if (new Set(names).size !== names.length) problems.push('concept class names are not unique');
  if (problems.length) throw new Error(`split check failed:\n  ${problems.slice(0, 20).join('\n  ')}` + (problems.length > 20 ? `\n  ... ${problems.length - 20} more` : ''));
}

module.exports = { SETS, FAMILIES, GROUP_NAMES, CONCRETE_GROUPS, normHex, stripFE0F, slugify, compact, nameRewrites, clusterKey, CAPTION_FORMS, captions, TSV_COLUMNS, tsvRow, folderName, verifySplit };
