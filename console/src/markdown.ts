/**
 * Markdown for the postmortem preview. Raw HTML in the text is shown as text, and links keep only
 * http(s)/mailto/relative targets, so a postmortem cannot run script in a reader's console (the
 * CSP forbids inline script too).
 */
import { Marked } from 'marked';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const md = new Marked({
  gfm: true,
  renderer: {
    html(token) {
      return escape(token.text);
    },
    link(token) {
      const safe = /^(https?:|mailto:|\/|#)/i.test(token.href) ? token.href : '#';
      return `<a href="${escape(safe)}" rel="noopener noreferrer">${this.parser.parseInline(token.tokens)}</a>`;
    },
    image(token) {
      return escape(`![${token.text}](${token.href})`);
    },
  },
});

export function renderMarkdown(text: string): string {
  return md.parse(text, { async: false });
}
