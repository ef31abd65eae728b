"""Serving generated domains on a store: generic CRUD, store error mapping."""
