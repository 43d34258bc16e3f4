import type { Page } from '../ui.ts';
import { pageHead } from '../ui.ts';

export const exportersPage: Page = {
  title: 'Exporters',
  render(root) {
    root.append(pageHead('Exporters'));
  },
};
