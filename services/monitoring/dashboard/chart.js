const SVG = 'http://www.w3.org/2000/svg';
/** The drawing's own units; it scales to its box's width. */
const WIDTH = 600;
const HEIGHT = 160;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 */
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * A bar per minute, oldest left, as an SVG image; its text alternative and the caption under
 * it state the total, the latest minute and the peak (`data-total` holds the total).
 * @param {{ minute: string, reports: number }[]} perMinute
 * @returns {HTMLElement}
 */
export function submissionsChart(perMinute) {
  const total = perMinute.reduce((n, m) => n + m.reports, 0);
  const peak = perMinute.reduce((n, m) => Math.max(n, m.reports), 0);
  const latest = perMinute.at(-1)?.reports ?? 0;
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset.total = String(total);
  const summary = `${total} reports in the last ${perMinute.length} minutes; ${latest} in the latest minute; at most ${peak} in one minute.`;
  const image = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT + 1}`,
    role: 'img',
    'aria-label': `Submissions per minute: ${summary}`,
  });
  const scale = peak > 0 ? HEIGHT / peak : 0;
  const step = WIDTH / Math.max(perMinute.length, 1);
  perMinute.forEach((m, i) => {
    const h = m.reports * scale;
    const bar = svg('rect', {
      x: i * step + 1,
      y: HEIGHT - h,
      width: Math.max(step - 2, 1),
      height: h,
      class: 'bar',
    });
    const tip = svg('title', {});
    tip.textContent = `${new Date(m.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${m.reports}`;
    bar.append(tip);
    image.append(bar);
  });
  image.append(svg('line', { x1: 0, y1: HEIGHT, x2: WIDTH, y2: HEIGHT, class: 'axis' }));
  // The axis labels in HTML: text in the drawing would shrink with it on a phone.
  const axis = document.createElement('div');
  axis.className = 'chart-axis';
  axis.setAttribute('aria-hidden', 'true');
  const oldest = document.createElement('span');
  oldest.textContent = `${perMinute.length} min ago`;
  const now = document.createElement('span');
  now.textContent = 'now';
  axis.append(oldest, now);
  const caption = document.createElement('figcaption');
  caption.textContent = summary;
  figure.append(image, axis, caption);
  return figure;
}
