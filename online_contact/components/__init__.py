"""Small functions returning rx.Component."""
