"""Task queue, step planning and worker leases. Reaches workers only through :class:`Dispatcher`."""
