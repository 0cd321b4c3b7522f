"""Server-rendered back office mounted by the API app. Not built yet."""
