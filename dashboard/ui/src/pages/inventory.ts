import type { Page } from '../ui.ts';
import { pageHead } from '../ui.ts';

export const inventoryPage: Page = {
  title: 'Inventory',
  render(root) {
    root.append(pageHead('Inventory'));
  },
};
