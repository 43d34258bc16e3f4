import type { Page } from '../ui.ts';
import { pageHead } from '../ui.ts';

export const sqlPage: Page = {
  title: 'Sql',
  render(root) {
    root.append(pageHead('Sql'));
  },
};
