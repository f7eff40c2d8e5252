"""The Chalice app: created here, everything else lives in Blueprints."""

from chalice import Chalice

from functions.api.blueprints import all_blueprints
from functions.api.observability import instrument

app = Chalice(app_name="iot-billing")
instrument(app)  # log context, correlation ids and traces on every function
for blueprint in all_blueprints():
    app.register_blueprint(blueprint)
