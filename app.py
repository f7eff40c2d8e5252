"""The Chalice app: created here, everything else lives in Blueprints."""

from chalice import Chalice

from functions.api.blueprints import all_blueprints

app = Chalice(app_name="iot-billing")
for blueprint in all_blueprints():
    app.register_blueprint(blueprint)
