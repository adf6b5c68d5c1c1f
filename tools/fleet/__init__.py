"""Fleet learning on Flower for microtl's devices (issue 17): see __main__.py."""
