"""Demo content for a fresh node (manage.py seed_demo): agencies, logins and use cases written
for this project."""
