// Filled in by its section.
export const routes = [];
export const nav = [];
