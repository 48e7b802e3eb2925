from veganalign.cli import app

app()
